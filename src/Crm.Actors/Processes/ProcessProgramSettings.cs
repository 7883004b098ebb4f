using System.Globalization;
using Akka.Configuration;
using Crm.Actors.Configuration;
using ConfigurationException = Crm.Actors.Configuration.ConfigurationException;

namespace Crm.Actors.Processes;

/// <summary>One output of a child: where it goes and how it rotates.</summary>
/// <param name="Path">The file; null for <c>NONE</c> (the output is read and dropped).</param>
/// <param name="MaxBytes">Rotate once the file holds this much; 0 never.</param>
/// <param name="Backups">Rotated files kept: <c>file.1</c> .. <c>file.N</c>.</param>
public sealed record LogFileSettings(string? Path, long MaxBytes, int Backups)
{
    /// <summary>supervisord's defaults: <c>_maxbytes=50MB</c>, <c>_backups=10</c>.</summary>
    public const long DefaultMaxBytes = 50L << 20;
    public const int DefaultBackups = 10;
}

/// <summary>
/// How an OS process program runs: supervisord's <c>[program:x]</c> keys that are not supervision (those stay in
/// <see cref="Supervision.ProgramSettings"/>: autostart, startsecs, startretries, stopwaitsecs, and autorestart's
/// on/off), read from a supervisord.conf (<see cref="SupervisordConfig"/>) or from <c>crm.programs.NAME</c>
/// (<see cref="Read"/>). Values are expanded and checked: what is here can be run.
/// </summary>
/// <param name="Command">The command line as written, expanded (supervisord's <c>command</c>).</param>
/// <param name="Arguments">The command split as supervisord splits it (shlex); the first is the program.</param>
/// <param name="Directory">The working directory (null: the host's).</param>
/// <param name="Environment">Set over the host's environment, in order.</param>
/// <param name="ExitCodes">The expected exit statuses (supervisord's default: 0).</param>
/// <param name="StopSignal">The signal a stop sends first (TERM); SIGKILL follows after stopwaitsecs.</param>
/// <param name="StopAsGroup">The stop signal goes to the child's whole process group.</param>
/// <param name="KillAsGroup">The SIGKILL goes to the child's whole process group (always true with StopAsGroup).</param>
/// <param name="RedirectStderr">stderr goes to the stdout log.</param>
/// <param name="Priority">Start in ascending order, stop in descending (999).</param>
public sealed record ProcessProgramSettings(
    string Name,
    string Command,
    IReadOnlyList<string> Arguments,
    string? Directory,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    AutoRestart AutoRestart,
    IReadOnlyList<int> ExitCodes,
    int StopSignal,
    bool StopAsGroup,
    bool KillAsGroup,
    bool RedirectStderr,
    LogFileSettings Stdout,
    LogFileSettings Stderr,
    int Priority)
{
    public const int DefaultPriority = 999;

    /// <summary>By value, lists included: settings read twice alike are equal (an unchanged program is not restarted by update).</summary>
    public bool Equals(ProcessProgramSettings? other) =>
        other is not null && Name == other.Name && Command == other.Command && Arguments.SequenceEqual(other.Arguments)
        && Directory == other.Directory && Environment.SequenceEqual(other.Environment) && AutoRestart == other.AutoRestart
        && ExitCodes.SequenceEqual(other.ExitCodes) && StopSignal == other.StopSignal && StopAsGroup == other.StopAsGroup
        && KillAsGroup == other.KillAsGroup && RedirectStderr == other.RedirectStderr && Stdout == other.Stdout && Stderr == other.Stderr
        && Priority == other.Priority;

    public override int GetHashCode() => HashCode.Combine(Name, Command, Directory, Priority);

    /// <summary>
    /// <c>AUTO</c> log files (supervisord's default) are <c>CHILDLOGDIR/NAME-stdout.log</c> and <c>-stderr.log</c>:
    /// supervisord adds a random part and deletes them at its next start; here the names are stable (so that
    /// <c>crmctl tail</c> finds them across restarts) and they rotate like any other log.
    /// </summary>
    public static string AutoLogPath(string childLogDirectory, string program, string stream) =>
        System.IO.Path.Combine(childLogDirectory, $"{program}-{stream}.log");

    /// <summary>
    /// <c>crm.programs.NAME</c>: <c>command</c> (required), <c>directory</c>, <c>environment</c> (an object
    /// <c>{ KEY = value }</c>, or supervisord's <c>"KEY=value,KEY2=value2"</c>), <c>autorestart</c> (true, false,
    /// unexpected; the program's own key, else <c>crm.programs.default</c>'s), <c>exitcodes</c> (a list or "0,2"),
    /// <c>stopsignal</c>, <c>stopasgroup</c>, <c>killasgroup</c>, <c>redirect_stderr</c>, <c>stdout_logfile</c>,
    /// <c>stdout_logfile_maxbytes</c>, <c>stdout_logfile_backups</c>, the same for stderr, <c>priority</c>. Missing
    /// keys take supervisord's defaults. <c>%(ENV_X)s</c>, <c>%(program_name)s</c>, <c>%(here)s</c> are expanded in
    /// command, directory and the log files as supervisord expands them.
    /// </summary>
    /// <param name="here">What <c>%(here)s</c> means: the configuration file's folder (default: the working directory).</param>
    /// <param name="environment">The host's environment (default: this process's), for <c>%(ENV_X)s</c>.</param>
    /// <param name="childLogDirectory">Where <c>AUTO</c> log files go (default: the temporary folder, as supervisord's childlogdir).</param>
    public static ProcessProgramSettings Read(Config config, string name, string? here = null,
        IReadOnlyDictionary<string, string>? environment = null, string? childLogDirectory = null)
    {
        var section = $"crm.programs.{name}";
        var defaults = $"crm.programs.{Supervision.ProgramSettings.DefaultSection}";
        var reader = new ConfigReader(config);
        string? Raw(string key)
        {
            if (key == "environment" && config.HasPath($"{section}.environment") && config.GetValue($"{section}.environment").IsObject())
                return null; // read below as an object
            if (key == "exitcodes" && config.HasPath($"{section}.exitcodes") && config.GetValue($"{section}.exitcodes").IsArray())
                return string.Join(",", config.GetStringList($"{section}.exitcodes"));
            return config.HasPath($"{section}.{key}") ? reader.Text($"{section}.{key}")
                : key == "autorestart" && config.HasPath($"{defaults}.autorestart") ? reader.Text($"{defaults}.autorestart")
                : null;
        }
        string KeyName(string key) => key == "autorestart" && !config.HasPath($"{section}.autorestart") ? $"{defaults}.autorestart" : $"{section}.{key}";

        IReadOnlyList<KeyValuePair<string, string>>? objectEnvironment = null;
        if (config.HasPath($"{section}.environment") && config.GetValue($"{section}.environment").IsObject())
            objectEnvironment = [.. config.GetConfig($"{section}.environment").AsEnumerable()
                .Select(pair => new KeyValuePair<string, string>(pair.Key, pair.Value.GetString() ?? ""))];

        var source = new KeySource(Raw, KeyName, (key, value, reason) => new ConfigurationException(KeyName(key), value, reason));
        return Build(source, name, here ?? System.IO.Directory.GetCurrentDirectory(), environment ?? CurrentEnvironment(),
            childLogDirectory ?? System.IO.Path.GetTempPath(), objectEnvironment);
    }

    /// <summary>This process's environment variables.</summary>
    public static IReadOnlyDictionary<string, string> CurrentEnvironment() =>
        System.Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);

    /// <summary>Where a program's keys come from: the raw (unexpanded) value of a key or null, and how a bad one is reported.</summary>
    internal sealed record KeySource(Func<string, string?> Raw, Func<string, string> KeyName, Func<string, string, string, Exception> Error);

    /// <summary>The expansions supervisord offers every key of a <c>[program:x]</c> (before its environment's ENV_ values).</summary>
    internal static Dictionary<string, string> CommonExpansions(string name, string here, IReadOnlyDictionary<string, string> environment)
    {
        var expansions = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in environment) expansions[$"ENV_{key}"] = value;
        expansions["here"] = here;
        expansions["program_name"] = name;
        expansions["group_name"] = name;
        expansions["host_node_name"] = System.Net.Dns.GetHostName();
        expansions["process_num"] = "0";
        expansions["numprocs"] = "1";
        return expansions;
    }

    /// <summary>The keys as supervisord's <c>processes_from_section</c> reads them, in its order and with its defaults.</summary>
    internal static ProcessProgramSettings Build(KeySource source, string name, string here, IReadOnlyDictionary<string, string> hostEnvironment,
        string childLogDirectory, IReadOnlyList<KeyValuePair<string, string>>? objectEnvironment = null)
    {
        var expansions = CommonExpansions(name, here, hostEnvironment);

        string? Expanded(string key, bool expand = true)
        {
            if (source.Raw(key) is not { } raw) return null;
            if (!expand) return raw;
            try { return SupervisordValues.Expand(raw, expansions); }
            catch (FormatException e) { throw source.Error(key, raw, e.Message); }
        }
        T Value<T>(string key, string fallback, Func<string, T> parse)
        {
            var text = Expanded(key) ?? fallback;
            try { return parse(text); }
            catch (FormatException e) { throw source.Error(key, text, e.Message); }
        }

        var priority = Value("priority", "999", SupervisordValues.Integer);
        var autorestart = Value("autorestart", "unexpected", SupervisordValues.AutoRestartOf);
        var stopSignal = Value("stopsignal", "TERM", SupervisordValues.Signal);
        var stopAsGroup = Value("stopasgroup", "false", SupervisordValues.Boolean);
        var killAsGroup = Value("killasgroup", stopAsGroup ? "true" : "false", SupervisordValues.Boolean);
        if (stopAsGroup && !killAsGroup)
            throw source.Error("killasgroup", Expanded("killasgroup") ?? "", "Cannot set stopasgroup=true and killasgroup=false");
        var exitCodes = Value("exitcodes", "0", SupervisordValues.ExitCodes);
        var redirectStderr = Value("redirect_stderr", "false", SupervisordValues.Boolean);

        IReadOnlyList<KeyValuePair<string, string>> environment;
        if (objectEnvironment is not null) environment = [.. objectEnvironment.Select(p => KeyValuePair.Create(p.Key, Expand(source, "environment", p.Value, expansions)))];
        else if (Expanded("environment", expand: false) is { } environmentText)
        {
            var expandedText = Expand(source, "environment", environmentText, expansions);
            try { environment = SupervisordValues.KeyValuePairs(expandedText); }
            catch (FormatException e) { throw source.Error("environment", environmentText, e.Message); }
        }
        else environment = [];
        // supervisord: the program's own environment is offered to the keys read after it, as ENV_KEY.
        foreach (var (key, value) in environment) expansions[$"ENV_{key}"] = value;

        var directory = Expanded("directory");
        if (directory is { Length: 0 }) directory = null;

        LogFileSettings Log(string stream)
        {
            var key = $"{stream}_logfile";
            var path = Expanded(key) ?? "AUTO";
            var maxBytes = Value($"{key}_maxbytes", "50MB", SupervisordValues.ByteSize);
            var backups = Value($"{key}_backups", "10", SupervisordValues.Integer);
            if (backups < 0) throw source.Error($"{key}_backups", backups.ToString(CultureInfo.InvariantCulture), "expected 0 or more");
            var file = path.ToLowerInvariant() switch
            {
                "none" or "off" => null,
                "auto" => AutoLogPath(childLogDirectory, name, stream),
                "syslog" => throw source.Error(key, path, "syslog is not supported: give a file, or NONE"),
                _ => path,
            };
            if (Value($"{stream}_syslog", "false", SupervisordValues.Boolean))
                throw source.Error($"{stream}_syslog", Expanded($"{stream}_syslog") ?? "", "syslog is not supported: remove the key (the output goes to its log file)");
            return new LogFileSettings(file, maxBytes, backups);
        }
        var stdout = Log("stdout");
        var stderr = Log("stderr");
        // supervisord: never an stderr log file when it is redirected.
        if (redirectStderr) stderr = stderr with { Path = null };

        var command = Expanded("command") ?? throw source.Error("command", "", $"program section {name} does not specify a command");
        IReadOnlyList<string> arguments;
        try { arguments = SupervisordValues.SplitCommand(command); }
        catch (FormatException e) { throw source.Error("command", command, $"can't parse command '{command}': {e.Message}"); }
        if (arguments.Count == 0) throw source.Error("command", command, "command is empty");

        return new ProcessProgramSettings(name, command, arguments, directory, environment, autorestart, exitCodes, stopSignal,
            stopAsGroup, killAsGroup, redirectStderr, stdout, stderr, priority);
    }

    private static string Expand(KeySource source, string key, string value, IReadOnlyDictionary<string, string> expansions)
    {
        try { return SupervisordValues.Expand(value, expansions); }
        catch (FormatException e) { throw source.Error(key, value, e.Message); }
    }

    /// <summary>Whether <paramref name="exit"/> is one of <see cref="ExitCodes"/> (a death by signal never is, as in supervisord).</summary>
    public bool IsExpected(ProcessExit exit) => exit.Signal is null && ExitCodes.Contains(exit.Code);

    /// <summary>
    /// What supervisord checks of the file system when it reads the section: each log file's folder exists. Run it
    /// before starting (its error names the key); the spawn checks the command and the directory.
    /// </summary>
    public void CheckPaths(Func<string, string> keyName)
    {
        foreach (var (key, log) in new[] { ("stdout_logfile", Stdout), ("stderr_logfile", Stderr) })
        {
            if (log.Path is not { } path) continue;
            var folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
            if (folder is not null && !System.IO.Directory.Exists(folder))
                throw new ConfigurationException(keyName(key), path, $"The directory named as part of the path {path} does not exist");
        }
    }
}
