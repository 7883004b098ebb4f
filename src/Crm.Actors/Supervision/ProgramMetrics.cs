using Crm.Actors.Telemetry;

namespace Crm.Actors.Supervision;

/// <summary>The programs' series in <see cref="CrmMetrics"/>: their state and their automatic restarts, by program name.</summary>
public static class ProgramMetrics
{
    public static readonly IReadOnlyList<string> StateNames = [.. Enum.GetValues<ProgramState>().Select(Name)];

    public static string Name(ProgramState state) => state.ToString().ToUpperInvariant();

    /// <summary>
    /// The programs the host runs, known before their supervisors start: their state (STOPPED until it moves) and
    /// their restarts (0) are exported from the start, also for a program that does not autostart.
    /// </summary>
    public static void Declare(IEnumerable<string> programs)
    {
        foreach (var program in programs)
        {
            CrmMetrics.ProgramState.Declare(program, Name(ProgramState.Stopped), StateNames);
            CrmMetrics.ProgramRestarts.Declare(program);
        }
    }

    /// <summary>A transition: the new state, and a restart when the program starts again after it ended.</summary>
    public static void Entered(string program, ProgramState from, ProgramState to)
    {
        CrmMetrics.ProgramState.Set(program, Name(to), StateNames);
        CrmMetrics.ProgramRestarts.Declare(program);
        if (to == ProgramState.Starting && from is ProgramState.Backoff or ProgramState.Exited or ProgramState.Fatal)
            CrmMetrics.ProgramRestarts.Add(1, new KeyValuePair<string, object?>("program", program));
    }
}
