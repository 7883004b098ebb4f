using System.Globalization;
using Crm.Actors.Configuration;
using Crm.Actors.Supervision;

namespace Crm.Actors.Processes;

/// <summary>One <c>[section]</c> of an INI file, its keys (lower case, as RawConfigParser stores them) in file order.</summary>
public sealed record IniSection(string Name, IReadOnlyList<KeyValuePair<string, string>> Values)
{
    public string? this[string key] => Values.LastOrDefault(v => v.Key == key) is { Key: not null } pair ? pair.Value : null;
}

/// <summary>A <c>[program:x]</c> section: how to run it, and its supervision keys.</summary>
/// <param name="Supervision">autostart, autorestart, startsecs, startretries, stopwaitsecs with supervisord's defaults
/// (autorestart unexpected, startsecs 1); the keys supervisord has not (backoff, start-timeout) from the basis.</param>
public sealed record SupervisordProgram(string Name, ProcessProgramSettings Process, ProgramSettings Supervision)
{
    public string Section => $"program:{Name}";
}

/// <summary>What reading a supervisord.conf depends on; tests give their own.</summary>
/// <param name="Environment">For <c>%(ENV_X)s</c> (default: this process's).</param>
/// <param name="CurrentUser">Who runs the host: a <c>user=</c> naming anyone else cannot be honoured.</param>
/// <param name="Basis">The supervision settings supervisord has no key for (backoff, start-timeout, outage-backoff).</param>
public sealed record SupervisordReadOptions(IReadOnlyDictionary<string, string> Environment, string CurrentUser, uint CurrentUid, ProgramSettings Basis)
{
    public static SupervisordReadOptions Current(ProgramSettings? basis = null) =>
        new(ProcessProgramSettings.CurrentEnvironment(), System.Environment.UserName, Libc.GetEffectiveUserId(), basis ?? ProgramSettings.Default);
}

/// <summary>
/// A supervisord.conf read as supervisord 4.2.5 reads it (Python's RawConfigParser with supervisord's settings:
/// <c>=</c> or <c>:</c> between key and value, <c>;</c> and <c>#</c> comment lines, inline comments after a blank,
/// indented continuation lines, keys in lower case, a repeated section merged, <c>[DEFAULT]</c> values offered to
/// every section). The <c>[program:x]</c> sections become <see cref="Programs"/>; every other section is read or
/// ignored as <see cref="Notes"/> says; what cannot be honoured (another user, several processes, groups, event
/// listeners, includes) is a <see cref="ConfigurationException"/> naming the section and the key, and what to do.
/// </summary>
public sealed class SupervisordConfig
{
    /// <summary>supervisord 4.2.5's <c>[program:x]</c> keys.</summary>
    public static readonly IReadOnlySet<string> ProgramKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "command", "process_name", "numprocs", "numprocs_start", "priority", "autostart", "startsecs", "startretries",
        "autorestart", "exitcodes", "stopsignal", "stopwaitsecs", "stopasgroup", "killasgroup", "user", "redirect_stderr",
        "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups", "stdout_capture_maxbytes", "stdout_events_enabled", "stdout_syslog",
        "stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups", "stderr_capture_maxbytes", "stderr_events_enabled", "stderr_syslog",
        "environment", "directory", "umask", "serverurl",
    };

    private const string DefaultSection = "DEFAULT";

    public string File { get; }
    /// <summary><c>%(here)s</c>: the file's folder.</summary>
    public string Here { get; }
    public IReadOnlyList<IniSection> Sections { get; }
    /// <summary>The programs in supervisord's order: ascending priority, then name.</summary>
    public IReadOnlyList<SupervisordProgram> Programs { get; }
    /// <summary>What was read and what ignored, one line each, for the host to say once at start.</summary>
    public IReadOnlyList<string> Notes { get; }

    private SupervisordConfig(string file, string here, IReadOnlyList<IniSection> sections, IReadOnlyList<SupervisordProgram> programs, IReadOnlyList<string> notes) =>
        (File, Here, Sections, Programs, Notes) = (file, here, sections, programs, notes);

    public SupervisordProgram? Program(string name) => Programs.FirstOrDefault(p => p.Name == name);

    public static SupervisordConfig Load(string path, SupervisordReadOptions? options = null)
    {
        string text;
        try { text = System.IO.File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException("--supervisord-conf", path, $"could not read config file {path}: {e.Message}");
        }
        return Parse(text, path, options);
    }

    public static SupervisordConfig Parse(string text, string file, SupervisordReadOptions? options = null)
    {
        options ??= SupervisordReadOptions.Current();
        var here = Path.GetDirectoryName(Path.GetFullPath(file)) ?? "/";
        var (sections, defaults) = ParseIni(text, file);
        var notes = new List<string>();
        var childLogDirectory = Path.GetTempPath();
        var programs = new List<SupervisordProgram>();

        Exception Error(string section, string key, string value, string reason) =>
            new ConfigurationException($"[{section}] {key}", value, $"{reason} (file: {file})");
        string? Get(IniSection section, string key) => section[key] ?? defaults.GetValueOrDefault(key);

        foreach (var section in sections)
        {
            var kind = section.Name.Split(':', 2)[0];
            switch (kind)
            {
                case "supervisord":
                    childLogDirectory = ReadSupervisord(section, Get, options, here, notes, Error) ?? childLogDirectory;
                    break;
                case "unix_http_server" or "inet_http_server":
                    notes.Add($"[{section.Name}] ignored: crmctl talks to the host's admin endpoint (crm.admin.bind)");
                    break;
                case "supervisorctl":
                    notes.Add($"[{section.Name}] ignored: crmctl's address is CRM_ADMIN_URL");
                    break;
                case "rpcinterface":
                    notes.Add($"[{section.Name}] ignored: the admin endpoint takes XML-RPC's place");
                    break;
                case "program":
                    break;
                case "include":
                    throw Error(section.Name, "files", section["files"] ?? "", "included files are not read: copy their sections into this file");
                case "group":
                    throw Error(section.Name, "programs", section["programs"] ?? "",
                        "groups of programs are not supported: remove the section; each program is its own group");
                case "eventlistener" or "fcgi-program":
                    throw Error(section.Name, "command", section["command"] ?? "", $"[{kind}:x] sections are not supported: remove the section");
                default:
                    notes.Add($"[{section.Name}] ignored: supervisord does not know it either");
                    break;
            }
        }

        foreach (var section in sections.Where(s => s.Name.StartsWith("program:", StringComparison.Ordinal)))
            programs.Add(ReadProgram(section, Get, options, here, childLogDirectory, notes, Error));

        var duplicate = programs.GroupBy(p => p.Name).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw Error($"program:{duplicate.Key}", "command", "", "two sections name the same program: rename one");
        programs.Sort((a, b) => a.Process.Priority != b.Process.Priority
            ? a.Process.Priority.CompareTo(b.Process.Priority) : string.CompareOrdinal(a.Name, b.Name));
        return new SupervisordConfig(file, here, sections, programs, notes);
    }

    private static string? ReadSupervisord(IniSection section, Func<IniSection, string, string?> get, SupervisordReadOptions options, string here,
        List<string> notes, Func<string, string, string, string, Exception> error)
    {
        var expansions = new Dictionary<string, string>(StringComparer.Ordinal) { ["here"] = here, ["host_node_name"] = System.Net.Dns.GetHostName() };
        foreach (var (key, value) in options.Environment) expansions[$"ENV_{key}"] = value;
        string? Value(string key)
        {
            if (get(section, key) is not { } raw) return null;
            try { return SupervisordValues.Expand(raw, expansions); }
            catch (FormatException e) { throw error(section.Name, key, raw, e.Message); }
        }
        if (Value("user") is { } user) CheckUser(section.Name, user, options, error);
        if (Value("nodaemon") is { } nodaemon)
        {
            try { if (!SupervisordValues.Boolean(nodaemon)) notes.Add("[supervisord] nodaemon=false ignored: Crm.Host always runs in the foreground"); }
            catch (FormatException e) { throw error(section.Name, "nodaemon", nodaemon, e.Message); }
        }
        var ignored = section.Values.Select(v => v.Key).Where(k => k is not ("user" or "nodaemon" or "childlogdir")).Distinct().ToList();
        if (ignored.Count > 0) notes.Add($"[supervisord] {string.Join(", ", ignored)} ignored: Crm.Host logs to its own output and keeps no pid file");
        // Its existence matters to the AUTO log files alone, which CheckPaths checks.
        if (Value("childlogdir") is not { } childLogDirectory) return null;
        notes.Add($"[supervisord] childlogdir={childLogDirectory}: the folder of the programs' AUTO log files");
        return childLogDirectory;
    }

    /// <summary>A <c>user=</c> the host can honour: its own (it cannot switch users for a child).</summary>
    private static void CheckUser(string section, string user, SupervisordReadOptions options, Func<string, string, string, string, Exception> error)
    {
        var same = user == options.CurrentUser
            || (uint.TryParse(user, NumberStyles.None, CultureInfo.InvariantCulture, out var uid) && uid == options.CurrentUid);
        if (!same)
            throw error(section, "user", user,
                $"Crm.Host runs as '{options.CurrentUser}' and runs every program as that user: remove user= or set user={options.CurrentUser}, or run Crm.Host as '{user}'");
    }

    private static SupervisordProgram ReadProgram(IniSection section, Func<IniSection, string, string?> get, SupervisordReadOptions options, string here,
        string childLogDirectory, List<string> notes, Func<string, string, string, string, Exception> error)
    {
        var rawName = section.Name.Split(':', 2)[1];
        var name = rawName.Trim();
        if (name.Length == 0 || name.IndexOfAny([' ', ':', '/']) >= 0)
            throw error(section.Name, "command", "", $"Invalid name: '{rawName}': a program's name has no blank, ':' or '/'");

        foreach (var (key, _) in section.Values)
        {
            if (ProgramKeys.Contains(key)) continue;
            var closest = KnownKeys.Closest(key, ProgramKeys);
            throw error(section.Name, key, section[key] ?? "",
                closest is not null && KnownKeys.Distance(key, closest) <= 2 ? $"unknown key; did you mean {closest}?" : "unknown key");
        }

        var expansions = ProcessProgramSettings.CommonExpansions(name, here, options.Environment);
        string? Raw(string key) => get(section, key);
        string? Expanded(string key)
        {
            if (Raw(key) is not { } raw) return null;
            try { return SupervisordValues.Expand(raw, expansions); }
            catch (FormatException e) { throw error(section.Name, key, raw, e.Message); }
        }
        T Value<T>(string key, string fallback, Func<string, T> parse, Func<T, bool>? valid = null, string? expectation = null)
        {
            var text = Expanded(key) ?? fallback;
            T value;
            try { value = parse(text); }
            catch (FormatException e) { throw error(section.Name, key, text, e.Message); }
            return valid is null || valid(value) ? value : throw error(section.Name, key, text, expectation ?? "out of range");
        }

        // What one process per program cannot honour.
        var numprocs = Value("numprocs", "1", SupervisordValues.Integer);
        if (numprocs != 1)
            throw error(section.Name, "numprocs", numprocs.ToString(CultureInfo.InvariantCulture),
                "one process per program: remove numprocs (in a cluster each node runs one process of the program)");
        var processNumber = Value("numprocs_start", "0", SupervisordValues.Integer);
        expansions["process_num"] = processNumber.ToString(CultureInfo.InvariantCulture);
        if (Raw("process_name") is { } processName)
        {
            string expanded;
            try { expanded = SupervisordValues.Expand(processName, expansions); }
            catch (FormatException e) { throw error(section.Name, "process_name", processName, e.Message); }
            if (expanded != name)
                throw error(section.Name, "process_name", processName, $"a process is named after its program here: remove process_name (it names '{expanded}', not '{name}')");
        }
        if (Expanded("user") is { } user) CheckUser(section.Name, user, options, error);
        if (Raw("umask") is { } umask)
            throw error(section.Name, "umask", umask, "umask cannot be set for a child here: remove it, or set it in the command (sh -c 'umask 022; exec ...')");
        foreach (var stream in new[] { "stdout", "stderr" })
        {
            if (Value($"{stream}_events_enabled", "false", SupervisordValues.Boolean))
                notes.Add($"[{section.Name}] {stream}_events_enabled ignored: there are no event listeners");
            if (Value($"{stream}_capture_maxbytes", "0", SupervisordValues.ByteSize) > 0)
                notes.Add($"[{section.Name}] {stream}_capture_maxbytes ignored: there are no event listeners");
        }
        if (Raw("serverurl") is not null) notes.Add($"[{section.Name}] serverurl ignored: there is no XML-RPC server");

        var source = new ProcessProgramSettings.KeySource(Raw, key => $"[{section.Name}] {key}", (key, value, reason) => error(section.Name, key, value, reason));
        var process = ProcessProgramSettings.Build(source, name, here, options.Environment, childLogDirectory);

        var supervision = options.Basis with
        {
            AutoStart = Value("autostart", "true", SupervisordValues.Boolean),
            AutoRestart = process.AutoRestart != AutoRestart.Never,
            AutoRestartUnexpectedOnly = process.AutoRestart == AutoRestart.Unexpected,
            StartSecs = TimeSpan.FromSeconds(Value("startsecs", "1", SupervisordValues.Integer, v => v >= 0, "expected a whole number of seconds, 0 or more")),
            StartRetries = Value("startretries", "3", SupervisordValues.Integer, v => v >= 0, "expected a whole number, 0 or more"),
            StopWaitSecs = TimeSpan.FromSeconds(Value("stopwaitsecs", "10", SupervisordValues.Integer, v => v >= 0, "expected a whole number of seconds, 0 or more")),
        };
        return new SupervisordProgram(name, process, supervision);
    }

    /// <summary>
    /// The sections as Python 3.11's RawConfigParser reads them with supervisord's settings (inline comment prefixes
    /// <c>;</c> and <c>#</c>, not strict), and the <c>[DEFAULT]</c> section's values apart.
    /// </summary>
    public static (IReadOnlyList<IniSection> Sections, IReadOnlyDictionary<string, string> Defaults) ParseIni(string text, string file)
    {
        var order = new List<string>();
        var sections = new Dictionary<string, List<(string Key, List<string> Lines)>>(StringComparer.Ordinal);
        List<(string Key, List<string> Lines)>? current = null;
        List<string>? value = null;
        var indentLevel = 0;
        var lines = text.Replace("\r\n", "\n").Split('\n');
        if (lines.Length > 0 && lines[^1].Length == 0) lines = lines[..^1];
        for (var number = 1; number <= lines.Length; number++)
        {
            var line = lines[number - 1];
            var commentStart = int.MaxValue;
            foreach (var prefix in new[] { ';', '#' })
            {
                for (var index = line.IndexOf(prefix); index >= 0; index = line.IndexOf(prefix, index + 1))
                {
                    if (index == 0 || char.IsWhiteSpace(line[index - 1])) { commentStart = Math.Min(commentStart, index); break; }
                }
            }
            var trimmed = line.Trim();
            if (trimmed.StartsWith('#') || trimmed.StartsWith(';')) commentStart = 0;
            var content = (commentStart == int.MaxValue ? line : line[..commentStart]).Trim();
            if (content.Length == 0)
            {
                // An empty line inside a value is kept (trailing ones are dropped at the end), unless it held a comment.
                if (commentStart == int.MaxValue && value is not null) value.Add("");
                continue;
            }
            var indent = line.Length - line.TrimStart().Length;
            if (current is not null && value is not null && indent > indentLevel)
            {
                value.Add(content);
                continue;
            }
            indentLevel = indent;
            if (content.StartsWith('[') && content.LastIndexOf(']') is var close && close > 1)
            {
                var name = content[1..close];
                if (!sections.TryGetValue(name, out current))
                {
                    current = [];
                    sections[name] = current;
                    order.Add(name);
                }
                value = null;
                continue;
            }
            if (current is null)
                throw new ConfigurationException($"{file} line {number}", line, "File contains no section headers: the first line must be a [section]");
            var delimiter = content.IndexOfAny(['=', ':']);
            var key = delimiter < 0 ? "" : content[..delimiter].TrimEnd();
            if (key.Length == 0)
                throw new ConfigurationException($"{file} line {number}", line, "File contains parsing errors: expected key=value, a [section] or a comment");
            key = key.ToLowerInvariant();
            value = [content[(delimiter + 1)..].Trim()];
            current.RemoveAll(entry => entry.Key == key);
            current.Add((key, value));
        }

        static string Join(List<string> lines) => string.Join('\n', lines).TrimEnd();
        var defaults = sections.TryGetValue(DefaultSection, out var defaultValues)
            ? defaultValues.ToDictionary(v => v.Key, v => Join(v.Lines), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        return ([.. order.Where(name => name != DefaultSection)
            .Select(name => new IniSection(name, [.. sections[name].Select(v => KeyValuePair.Create(v.Key, Join(v.Lines)))]))], defaults);
    }
}
