using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Supervision;

/// <summary>What the root supervisor answers to: supervisorctl's verbs, addressed by program name.</summary>
public static class SupervisorMessages
{
    /// <summary>Status of one program, or of all when <paramref name="Program"/> is null.</summary>
    public sealed record GetStatus(string? Program);

    public sealed record StatusReport(IReadOnlyList<ProgramInfo> Programs);

    public sealed record StartProgram(string Program);

    public sealed record StopProgram(string Program);

    public sealed record RestartProgram(string Program);

    /// <summary>
    /// The answer to start, stop, restart and update, as supervisorctl prints it: one line per step (a restart's
    /// stop, then its start), each <c>NAME: started</c>, <c>NAME: stopped</c>, or <c>NAME: ERROR (reason)</c>.
    /// </summary>
    /// <remarks>Crosses the wire when clustered: one constructor, and nothing computed is serialized.</remarks>
    public sealed record CommandResult(string Program, IReadOnlyList<CommandOutcome> Outcomes)
    {
        /// <summary>An array: a list built by a collection expression or ImmutableList is no type the serializer can create.</summary>
        public IReadOnlyList<CommandOutcome> Outcomes { get; } = Outcomes.ToArray();

        [Newtonsoft.Json.JsonIgnore]
        public IEnumerable<string> Lines => Outcomes.Select(Line);

        public string Line(CommandOutcome outcome) => outcome.Ok ? $"{Program}: {outcome.Message}" : $"{Program}: ERROR ({outcome.Message})";

        [Newtonsoft.Json.JsonIgnore]
        public bool IsNoSuchProcess => Outcomes.Any(o => o.Message == CommandOutcome.NoSuchProcess);

        public override string ToString() => string.Join('\n', Lines);
    }

    /// <summary>The recorded state transitions of one program, or of all, oldest first.</summary>
    public sealed record GetEvents(string? Program);

    public sealed record EventsReport(IReadOnlyList<ProgramTransition> Events);

    /// <summary>
    /// New settings for a program (supervisorctl's <c>update</c>): an up program is stopped, then started with
    /// them; one that is not up keeps its state. Answered with a <see cref="CommandResult"/> once done.
    /// </summary>
    public sealed record UpdateProgram(ProgramDefinition Definition);

    /// <summary>
    /// Delivers <paramref name="Message"/> to the named program's actors, keeping the sender. When the program is
    /// not running, an <see cref="IProgramRequest"/> is answered for it; anything else is dropped.
    /// </summary>
    public sealed record ToProgram(string Program, object Message);

    /// <summary>Graceful stop of every program for a host shutdown; operator intent is left as it was.</summary>
    public sealed class ShutdownAll
    {
        public static readonly ShutdownAll Instance = new();
        private ShutdownAll() { }
    }

    public sealed class AllStopped
    {
        public static readonly AllStopped Instance = new();
        private AllStopped() { }
    }
}

/// <summary>A program's state as the operator sees it.</summary>
/// <param name="Node">Clustered: the address of the node that runs the program (null standalone).</param>
public sealed record ProgramInfo(string Name, ProgramState State, DateTimeOffset Since, int FailedStarts, string? LastError, bool EverStarted,
    string? Node = null);

/// <summary>One recorded state transition (SPEC §4 <c>events</c>).</summary>
public sealed record ProgramTransition(Guid Id, DateTimeOffset At, string Program, ProgramState From, ProgramState To, string Description)
    : IProgramJournalEvent
{
    public override string ToString() => $"{At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {Program} {From.ToString().ToUpperInvariant()} -> {To.ToString().ToUpperInvariant()} {Description}";
}

/// <summary>An operator's start or stop, remembered across host restarts.</summary>
public sealed record OperatorIntent(Guid Id, DateTimeOffset At, bool Stopped) : IProgramJournalEvent;

/// <summary>
/// Everything a journal held before it, in one event: the operator's last intent (null: none) and the last
/// transitions, oldest first. The events it stands for are deleted.
/// </summary>
public sealed record ProgramJournalState(Guid Id, bool? OperatorStopped, IReadOnlyList<ProgramTransition> History) : IProgramJournalEvent;

public interface IProgramJournalEvent
{
    Guid Id { get; }
}

/// <summary>
/// Between a program supervisor and the program it runs. The program says it is ready with
/// <see cref="ProgramInput.Ready"/>, the state machine's own input.
/// </summary>
public static class ProgramMessages
{
    /// <summary>To the program: finish what is in flight, then stop.</summary>
    public sealed class GracefulStop
    {
        public static readonly GracefulStop Instance = new();
        private GracefulStop() { }
    }
}

/// <summary>Between a program supervisor and its history, and the history and its journal.</summary>
public static class ProgramJournalMessages
{
    /// <summary>A bound on the wait for a journal that neither replays nor fails (recovery has its own timeout too).</summary>
    internal sealed class JournalWaitElapsed : INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly JournalWaitElapsed Instance = new();
        private JournalWaitElapsed() { }
    }

    /// <summary>The journal has replayed: the remembered operator intent (null: none) and the history.</summary>
    public sealed record Recovered(bool? OperatorStopped, IReadOnlyList<ProgramTransition> History);

    /// <summary>Published when a journal has replayed: how many events, and how long it took.</summary>
    public sealed record Replayed(string PersistenceId, long Events, TimeSpan Elapsed);

    public sealed record Persisted(Guid Id);

    /// <summary>The journal could not replay (its database refuses or cannot be reached); it is restarted with backoff.</summary>
    public sealed record Unavailable(string Reason);
}

/// <summary>A request to a program that expects an answer even while the program is not running.</summary>
public interface IProgramRequest
{
    /// <summary>The answer the program's supervisor gives for it: the program is not there, because of <paramref name="reason"/>.</summary>
    object Unavailable(string reason);
}
