namespace Crm.Ctl;

/// <summary>supervisorctl's status output and exit status.</summary>
public static class StatusLine
{
    public const string Running = "RUNNING";

    /// <summary>
    /// Python's <c>'%-33s%-10s%s' % (name, state, description)</c>: left-justified, padded to 33 and 10, never cut;
    /// nothing trimmed, so an empty description leaves the state's padding.
    /// </summary>
    public static string Format(string name, string state, string? description) =>
        $"{name,-33}{state,-10}{description}";

    /// <summary>4 when a named program is unknown (it wins: the question could not be answered), 3 when a listed one
    /// is not RUNNING, else 0.</summary>
    public static int ExitCode(IEnumerable<string> listedStates, bool anyUnknown) =>
        anyUnknown ? ExitCodes.UnknownOrUnreachable
        : listedStates.Any(state => state != Running) ? ExitCodes.NotRunning
        : ExitCodes.Ok;

    /// <summary>What supervisorctl prints for a name it does not know.</summary>
    public static string NoSuchProcess(string name) => $"{name}: ERROR (no such process)";
}
