using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Processes;
using Crm.Actors.Supervision;

namespace Crm.Host.Programs.Processes;

/// <summary>
/// The host's OS process programs (SPEC §11): the sections of <c>crm.programs</c> with a <c>command</c>, and the
/// <c>[program:x]</c> sections of a supervisord.conf (<c>--supervisord-conf</c>, or <c>crm.supervisord-conf</c>). A
/// supervisord section named after a built-in program gives that program its supervision keys instead of running
/// its command (the CRM's <c>[program:reminder_worker]</c> runs the old Python worker): said once at start.
/// </summary>
public sealed class SupervisordPrograms
{
    private readonly SupervisordConfFile? _conf;
    private readonly IReadOnlySet<string> _builtIns;

    private SupervisordPrograms(SupervisordConfFile? conf, IReadOnlySet<string> builtIns, IReadOnlyList<string> notes, bool runsProcesses) =>
        (_conf, _builtIns, Notes, RunsProcesses) = (conf, builtIns, notes, runsProcesses);

    /// <summary>What was read and what ignored, for the host to say once at start.</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>The host runs OS processes: it reaps what they leave behind.</summary>
    public bool RunsProcesses { get; }

    /// <summary>A built-in program's supervision keys from its supervisord section, as the file says now (null: none).</summary>
    public ProgramSettings? SupervisionOf(string program) =>
        _conf is not null && _builtIns.Contains(program) ? _conf.Read().Program(program)?.Supervision : null;

    /// <param name="programs">The host's programs so far: the built-in ones.</param>
    /// <param name="file">--supervisord-conf, over crm.supervisord-conf.</param>
    public static SupervisordPrograms Add(HostedPrograms programs, CrmSettings settings, string? file)
    {
        var builtIns = programs.Catalog.Names.ToHashSet(StringComparer.Ordinal);
        foreach (var name in ProcessProgramKeys.ProgramsIn(settings.Hocon))
        {
            if (builtIns.Contains(name))
                throw new ConfigurationException($"crm.programs.{name}.command", settings.Hocon.GetString($"crm.programs.{name}.command"),
                    $"{name} is a built-in program: it runs no command (remove the key, or name the process program otherwise)");
            programs.Add(ProcessHostedProgram.FromConfiguration(name, settings.Logging.Directory));
        }
        var fromConfiguration = programs.Catalog.Names.Count > builtIns.Count;
        file ??= settings.SupervisordConf;
        if (file is null) return new SupervisordPrograms(null, builtIns, [], fromConfiguration);

        var confFile = new SupervisordConfFile(Path.GetFullPath(file), settings.DefaultProgram);
        var conf = confFile.Read();
        var notes = new List<string> { $"supervisord.conf {confFile.Path}: {string.Join(", ", conf.Programs.Select(p => $"[program:{p.Name}]"))}" };
        notes.AddRange(conf.Notes);
        foreach (var program in conf.Programs)
        {
            if (builtIns.Contains(program.Name))
            {
                var s = program.Supervision;
                notes.Add($"[program:{program.Name}]: the built-in {program.Name} runs with this section's supervision keys (autostart={Bool(s.AutoStart)}, "
                          + $"autorestart={Bool(s.AutoRestart)}, startsecs={s.StartSecs.TotalSeconds:0}, startretries={s.StartRetries}, stopwaitsecs={s.StopWaitSecs.TotalSeconds:0}); "
                          + $"its command ({program.Process.Command}) is not run");
                continue;
            }
            if (programs.Catalog.Contains(program.Name))
                throw new ConfigurationException("--supervisord-conf", confFile.Path, $"[program:{program.Name}] is also crm.programs.{program.Name}: keep one of them");
            programs.Add(ProcessHostedProgram.FromSupervisordConf(program.Name, confFile));
        }
        return new SupervisordPrograms(confFile, builtIns, notes, programs.Catalog.Names.Count > builtIns.Count);
    }

    private static string Bool(bool value) => value ? "true" : "false";
}

/// <summary>
/// A supervisord.conf as its programs' definitions read it: parsed again only when the file changed since (its
/// length or its time of writing), so that a start reads it once for all its programs and an update sees an edit.
/// </summary>
/// <param name="basis">The supervision keys supervisord has not (backoff, start-timeout): <c>crm.programs.default</c>'s.</param>
public sealed class SupervisordConfFile(string path, ProgramSettings basis)
{
    private readonly Lock _gate = new();
    private (DateTime WrittenAt, long Length, SupervisordConfig Config)? _read;

    public string Path { get; } = path;

    public SupervisordConfig Read()
    {
        var file = new FileInfo(Path);
        var stamp = file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1L);
        lock (_gate)
        {
            if (_read is { } read && read.WrittenAt == stamp.Item1 && read.Length == stamp.Item2) return read.Config;
            var config = SupervisordConfig.Load(Path, SupervisordReadOptions.Current(basis));
            _read = (stamp.Item1, stamp.Item2, config);
            return config;
        }
    }
}

public static class OrphanReaping
{
    /// <summary>
    /// Orphans are reaped: as PID 1 (a container's init) every orphan in the container is ours; otherwise the host
    /// becomes its children's subreaper, so that what a killed child leaves behind comes back to it, not to init.
    /// </summary>
    public static AkkaConfigurationBuilder WithOrphanReaping(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, _) =>
        {
            if (OperatingSystem.IsLinux() && Environment.ProcessId != 1) ZombieReaper.BecomeSubreaper();
            if (ZombieReaper.ReceivesOrphans) system.ActorOf(ZombieReaperActor.Props(), "orphan-reaper");
        });
}
