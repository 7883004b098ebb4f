namespace Crm.Ctl;

/// <summary>supervisorctl's status output and exit status.</summary>
public static class StatusLine
{
    public const string Running = "RUNNING";

    /// <summary>
    /// Python's <c>'%-33s%-10s%s' % (name, state, description)</c>: left-justified, padded to 33 and 10, never cut;
    /// nothing trimmed, so an empty description leaves the state's padding. supervisorctl 4.2.5 widens the name's
    /// column to the longest name it prints plus 3 when that is over 30 (<see cref="NameWidth"/>).
    /// </summary>
    public static string Format(string name, string state, string? description, int nameWidth = 33) =>
        name.PadRight(nameWidth) + $"{state,-10}{description}";

    /// <summary>supervisorctl's name column for one answer: <c>max(30, longest name) + 3</c>.</summary>
    public static int NameWidth(IEnumerable<string> names) => Math.Max(30, names.Select(n => n.Length).DefaultIfEmpty(0).Max()) + 3;

    /// <summary>supervisorctl 4.2.5's do_status: 4 when a named program is unknown, then 3 when a listed one is in
    /// STOPPED_STATES (STOPPED, EXITED, FATAL; set last, so it wins), else 0. STARTING and BACKOFF are not stopped.</summary>
    public static int ExitCode(IEnumerable<string> listedStates, bool anyUnknown) =>
        listedStates.Any(state => state is "STOPPED" or "EXITED" or "FATAL") ? ExitCodes.NotRunning
        : anyUnknown ? ExitCodes.UnknownOrUnreachable
        : ExitCodes.Ok;

    /// <summary>A process's pid as supervisorctl's <c>pid NAME</c> gives it: 0 unless it has a process (STARTING, RUNNING, STOPPING).</summary>
    public static int PidOf(ProgramStatus program) =>
        program.State is "STARTING" or "RUNNING" or "STOPPING" ? program.Pid ?? 0 : 0;

    /// <summary>What supervisorctl prints for a name it does not know.</summary>
    public static string NoSuchProcess(string name) =>
        name.IndexOf(':') is var colon && colon >= 0 && name[(colon + 1)..] is "*" or ""
            ? $"{name[..colon]}: ERROR (no such group)"
            : $"{name}: ERROR (no such process)";
}
