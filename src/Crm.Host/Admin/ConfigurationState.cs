using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Supervision;

namespace Crm.Host.Admin;

/// <summary>
/// The configuration in effect and the file it came from: <c>reread</c> compares the file with it, <c>update</c>
/// applies what it can. A program has changed when the settings its actors are made from have; it takes them by a
/// restart of the program. Of the host's own settings, the logging level and the lines kept in memory apply at once
/// (<paramref name="applyLogging"/>); the database, the log files, the admin listener, the node and the cluster are
/// set up at start: they stay as they are, reported as needing a restart of the host, until it restarts.
/// </summary>
/// <param name="supervisionOf">A program's supervision keys from elsewhere than the configuration (a supervisord.conf's
/// section for a built-in program), read again at each call; null for a program that has none there.</param>
public sealed class ConfigurationState(CommandLine line, CrmSettings initial, IReadOnlyDictionary<string, string?> environment,
    ProgramCatalog catalog, Action<LoggingSettings>? applyLogging = null, Func<string, ProgramSettings?>? supervisionOf = null) : IProgramReloader
{
    private readonly object _gate = new();
    public CrmSettings Current { get; private set; } = initial;

    public ProgramCatalog Catalog => catalog;

    /// <summary>The programs the host runs, made from <paramref name="settings"/>.</summary>
    public IReadOnlyList<ProgramDefinition> Programs(CrmSettings settings) => Define(catalog, settings, line.Once, line.Demo, supervisionOf);

    /// <summary>
    /// Every registered program, made from its <c>crm.programs.NAME</c> section and the rest of the configuration.
    /// Each instance journals under its node name; clustered, each program is a group of one process per node.
    /// </summary>
    public static IReadOnlyList<ProgramDefinition> Define(ProgramCatalog catalog, CrmSettings settings, bool once = false, bool demo = false,
        Func<string, ProgramSettings?>? supervisionOf = null)
    {
        var node = settings.Node.Name;
        var clustered = settings.Cluster.Enabled && !once;
        return [.. catalog.Define(name => new ProgramContext(settings.Hocon, supervisionOf?.Invoke(name) ?? settings.SupervisionOf(name), once, demo))
            .Select(program => program with { Node = node, Clustered = clustered })];
    }

    /// <param name="Changed">Programs whose settings changed.</param>
    /// <param name="Live">Host settings that changed and apply at once.</param>
    /// <param name="NeedRestart">Host settings that changed and apply only when the host restarts.</param>
    public sealed record Difference(IReadOnlyList<string> Changed, IReadOnlyList<string> Added, IReadOnlyList<string> Removed,
        IReadOnlyList<string> Live, IReadOnlyList<string> NeedRestart, CrmSettings OnDisk);

    /// <summary>Reads the configuration file again (throws <see cref="ConfigurationException"/> when it is invalid).</summary>
    public Difference Reread()
    {
        var onDisk = CrmSettings.Load(line.ConfigPath is { } path ? File.ReadAllText(path) : null, environment);
        lock (_gate) return Compare(catalog, Current, onDisk, line.Once, line.Demo);
    }

    /// <summary>
    /// A program has changed when its supervision settings or its own settings (<see cref="ProgramDefinition.Options"/>)
    /// differ between the two configurations.
    /// </summary>
    public static Difference Compare(ProgramCatalog catalog, CrmSettings current, CrmSettings onDisk, bool once = false, bool demo = false)
    {
        var was = Define(catalog, current, once, demo).ToDictionary(p => p.Name);
        var changed = Define(catalog, onDisk, once, demo)
            .Where(now => now.Settings != was[now.Name].Settings || !Equals(now.Options, was[now.Name].Options))
            .Select(p => p.Name).Order().ToList();
        var (live, needRestart) = HostChanges(current, onDisk);
        // A section for a program this build does not have is reported; a section removed is a program that takes
        // crm.programs.default, which shows as a change when its settings differ.
        var added = onDisk.Programs.Keys.Where(name => !catalog.Contains(name)).Except(current.Programs.Keys).Order().ToList();
        return new Difference(changed, added, [], live, needRestart, onDisk);
    }

    /// <summary>The host's own settings that changed, by key: those that apply at once, those that need a restart.</summary>
    public static (IReadOnlyList<string> Live, IReadOnlyList<string> NeedRestart) HostChanges(CrmSettings current, CrmSettings onDisk)
    {
        var (live, needRestart) = (new List<string>(), new List<string>());
        void Check(bool changed, string key, List<string> into)
        {
            if (changed) into.Add(key);
        }
        var (was, now) = (current.Logging, onDisk.Logging);
        Check(was.Level != now.Level, "crm.logging.level", live);
        Check(was.KeptInMemory != now.KeptInMemory, "crm.logging.kept-in-memory", live);
        Check(current.Database.PostgresUrl != onDisk.Database.PostgresUrl, onDisk.Database.PostgresUrlKey, needRestart);
        Check(current.Database.SqlitePath != onDisk.Database.SqlitePath, "crm.database.sqlite-path", needRestart);
        Check(was.Directory != now.Directory, now.DirectoryKey, needRestart);
        Check(was.MaxBytes != now.MaxBytes, "crm.logging.max-bytes", needRestart);
        Check(was.Backups != now.Backups, "crm.logging.backups", needRestart);
        Check(current.Admin.Bind != onDisk.Admin.Bind, "crm.admin.bind", needRestart);
        Check(current.Admin.Tls != onDisk.Admin.Tls, "crm.admin.tls", needRestart);
        Check(!Equals(current.Admin.Token, onDisk.Admin.Token), "CRM_ADMIN_TOKEN", needRestart);
        Check(current.Node != onDisk.Node, "crm.node.name", needRestart);
        Check(current.Cluster.Enabled != onDisk.Cluster.Enabled, "crm.cluster.enabled", needRestart);
        Check(current.Cluster.Hostname != onDisk.Cluster.Hostname, "crm.cluster.hostname", needRestart);
        Check(current.Cluster.Port != onDisk.Cluster.Port, "crm.cluster.port", needRestart);
        Check(!current.Cluster.SeedNodes.SequenceEqual(onDisk.Cluster.SeedNodes), "crm.cluster.seed-nodes", needRestart);
        return (live, needRestart);
    }

    /// <summary>What is in effect once <paramref name="onDisk"/> is applied: everything but what needs a restart.</summary>
    public static CrmSettings InEffect(CrmSettings current, CrmSettings onDisk) => onDisk with
    {
        Database = current.Database,
        Logging = onDisk.Logging with
        {
            Directory = current.Logging.Directory, DirectoryKey = current.Logging.DirectoryKey,
            MaxBytes = current.Logging.MaxBytes, Backups = current.Logging.Backups,
        },
        Admin = current.Admin,
        Node = current.Node,
        Cluster = current.Cluster,
        Hocon = current.Hocon,
    };

    /// <summary>
    /// supervisorctl's update on this node (the root asks each node's): the programs whose settings changed, made from
    /// the file; programs added or removed in the file are reported, not run (programs are declared in code).
    /// </summary>
    ReloadPlan IProgramReloader.Reread()
    {
        Difference difference;
        try { difference = Reread(); }
        catch (ConfigurationException e) { return ReloadPlan.Failed(e.Message); }
        var programs = Programs(difference.OnDisk).ToDictionary(p => p.Name);
        return new ReloadPlan([.. difference.Changed.Select(name => programs[name])],
            [
                .. difference.Added.Select(name => $"{name}: ERROR (no such program in this build)"),
                .. difference.Live.Select(key => $"{key}: applied"),
                .. difference.NeedRestart.Select(key => $"{key}: not applied, needs a restart of the host"),
            ],
            () => Apply(difference));
    }

    /// <summary>
    /// Makes the difference's settings the ones in effect, as far as they can be without a restart (the programs
    /// have taken theirs already): the logging settings that apply live are applied.
    /// </summary>
    public void Apply(Difference difference)
    {
        lock (_gate)
        {
            if (difference.Live.Count > 0) applyLogging?.Invoke(difference.OnDisk.Logging);
            Current = InEffect(Current, difference.OnDisk);
        }
    }
}
