using Crm.Actors.Telemetry;

namespace Crm.Actors.Supervision;

/// <summary>The programs' series in <see cref="CrmMetrics"/>: their state and their automatic restarts, by program name.</summary>
public static class ProgramMetrics
{
    public static readonly IReadOnlyList<string> StateNames = [.. Enum.GetValues<ProgramState>().Select(s => s.Name())];

    /// <summary>
    /// The programs the host runs, known before their supervisors start: their state (STOPPED until it moves) and
    /// their restarts (0) are exported from the start, also for a program that does not autostart.
    /// </summary>
    public static void Declare(IEnumerable<string> programs) => Declare(CrmMetrics.Process, programs);

    /// <summary>The same, on <paramref name="metrics"/>' registry.</summary>
    public static void Declare(ServiceMetrics metrics, IEnumerable<string> programs)
    {
        foreach (var program in programs)
        {
            metrics.ProgramState.Declare(program, ProgramState.Stopped.Name(), StateNames);
            metrics.ProgramRestarts.Declare(program);
        }
    }

    /// <summary>A transition: the new state, and a restart when the program starts again after it ended.</summary>
    public static void Entered(string program, ProgramState from, ProgramState to) => Entered(CrmMetrics.Process, program, from, to);

    /// <summary>The same, on <paramref name="metrics"/>' registry.</summary>
    public static void Entered(ServiceMetrics metrics, string program, ProgramState from, ProgramState to)
    {
        metrics.ProgramState.Set(program, to.Name(), StateNames);
        metrics.ProgramRestarts.Declare(program);
        if (to == ProgramState.Starting && from is ProgramState.Backoff or ProgramState.Exited or ProgramState.Fatal)
            metrics.ProgramRestarts.Add(program, 1);
    }
}
