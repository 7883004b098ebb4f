namespace Crm.Actors.Processes;

/// <summary>
/// The keys of <c>crm.programs.NAME</c> that make it an OS process program (<see cref="ProcessProgramSettings.Read"/>),
/// beside the supervision keys every program has: the configuration check knows them.
/// </summary>
public static class ProcessProgramKeys
{
    /// <summary>The key whose presence makes a section a process program.</summary>
    public const string Command = "command";

    public static readonly IReadOnlyList<string> Hocon =
    [
        Command, "directory", "environment", "exitcodes", "stopsignal", "stopasgroup", "killasgroup", "redirect_stderr",
        "stdout_logfile", "stdout_logfile_maxbytes", "stdout_logfile_backups",
        "stderr_logfile", "stderr_logfile_maxbytes", "stderr_logfile_backups", "priority",
    ];

    /// <summary>The sections of <c>crm.programs</c> that are process programs.</summary>
    public static IReadOnlyList<string> ProgramsIn(Akka.Configuration.Config config) =>
        config.GetConfig("crm.programs") is { } programs
            ? [.. programs.AsEnumerable().Select(pair => pair.Key).Distinct().Where(name => config.HasPath($"crm.programs.{name}.{Command}")).Order(StringComparer.Ordinal)]
            : [];
}
