using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Supervision;

/// <summary>
/// What the root supervisor answers to: supervisorctl's verbs, addressed by supervisorctl's names. Standalone a
/// program is one process named after it; clustered it is a group with one process per node (SPEC §8):
/// <c>NAME</c> and <c>NAME:*</c> name the group, <c>NAME:NODE</c> one process. Everything here may cross nodes:
/// data only (names, settings), never Props, delegates or stores.
/// </summary>
public static class SupervisorMessages
{
    /// <summary>Status of the named program(s) or process, or of all when <paramref name="Program"/> is null.</summary>
    public sealed record GetStatus(string? Program);

    /// <remarks>Crosses nodes: its lists are arrays, which the serializer can create (a collection expression's are not).</remarks>
    public sealed record StatusReport(IReadOnlyList<ProgramInfo> Programs)
    {
        public IReadOnlyList<ProgramInfo> Programs { get; } = Programs.ToArray();
    }

    /// <param name="InGroup">Part of a command to a whole group: a process already up answers no line (supervisord's
    /// <c>startProcessGroup</c> starts only the processes that are not running).</param>
    public sealed record StartProgram(string Program, bool InGroup = false);

    /// <param name="InGroup">Part of a command to a whole group: a process that is not up answers no line.</param>
    public sealed record StopProgram(string Program, bool InGroup = false);

    public sealed record RestartProgram(string Program);

    /// <summary>supervisorctl's <c>signal SIG NAME</c>: <paramref name="Signal"/> (its number) to the process, or to a
    /// group's up processes (<paramref name="InGroup"/>: one that is not up answers no line).</summary>
    public sealed record SignalProgram(string Program, int Signal, bool InGroup = false);

    /// <summary>
    /// From one root to another (or itself): answer <paramref name="Request"/> for this node's processes only, with
    /// the answer <see cref="NodeAnswer"/> says. Health checks ask their own node this way too.
    /// </summary>
    public sealed record NodeRequest(object Request);

    /// <summary>This node's answer to a <see cref="NodeRequest"/>: a status or events report, or a command result.</summary>
    /// <param name="Address">The node's cluster address (null standalone).</param>
    public sealed record NodeAnswer(string? Address, object Answer);

    /// <summary>supervisorctl's <c>update</c>, for every node: each reads its own configuration again and restarts
    /// the programs whose settings changed there. Answered with an <see cref="UpdateReport"/>.</summary>
    public sealed class UpdateAll
    {
        public static readonly UpdateAll Instance = new();
        private UpdateAll() { }
    }

    /// <summary>One node's part of an <see cref="UpdateAll"/>.</summary>
    public sealed class UpdateNode
    {
        public static readonly UpdateNode Instance = new();
        private UpdateNode() { }
    }

    /// <param name="Lines">supervisorctl's lines (<c>NAME: stopped</c>, <c>NAME: updated process group</c>) and the
    /// host settings applied or waiting for a restart.</param>
    /// <param name="Changed">The programs whose settings changed.</param>
    /// <param name="Error">The configuration could not be read (nothing was applied).</param>
    public sealed record UpdateReport(IReadOnlyList<string> Lines, IReadOnlyList<string> Changed, string? Error = null)
    {
        public IReadOnlyList<string> Lines { get; } = Lines.ToArray();
        public IReadOnlyList<string> Changed { get; } = Changed.ToArray();
    }

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

        /// <summary>A group's answer names each line's process; a process's answer is named after it.</summary>
        public string Line(CommandOutcome outcome) =>
            outcome.Ok ? $"{outcome.Process ?? Program}: {outcome.Message}" : $"{outcome.Process ?? Program}: ERROR ({outcome.Message})";

        [Newtonsoft.Json.JsonIgnore]
        public bool IsNoSuchProcess => Outcomes.Any(o => o.Message == CommandOutcome.NoSuchProcess);

        public override string ToString() => string.Join('\n', Lines);
    }

    /// <summary>The recorded state transitions of one program, or of all, oldest first.</summary>
    public sealed record GetEvents(string? Program);

    public sealed record EventsReport(IReadOnlyList<ProgramTransition> Events)
    {
        public IReadOnlyList<ProgramTransition> Events { get; } = Events.ToArray();
    }

    /// <summary>
    /// New settings for a program of this node (supervisorctl's <c>update</c>): an up program is stopped, then
    /// started with them; one that is not up keeps its state. Answered with a <see cref="CommandResult"/> once done.
    /// Never crosses nodes (it carries Props): each node makes its own from its own configuration.
    /// </summary>
    public sealed record UpdateProgram(ProgramDefinition Definition) : INoSerializationVerificationNeeded;

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

/// <summary>A program's process as the operator sees it.</summary>
/// <param name="Node">Clustered: the name of the node that runs this process (null standalone).</param>
/// <param name="Pid">The id of the OS process it runs in (the host's).</param>
/// <param name="Address">Clustered: the node's cluster address.</param>
public sealed record ProgramInfo(string Name, ProgramState State, DateTimeOffset Since, int FailedStarts, string? LastError, bool EverStarted,
    string? Node = null, int Pid = 0, string? Address = null)
{
    /// <summary>supervisorctl's name: <c>NAME</c> standalone, <c>NAME:NODE</c> in a cluster's group.</summary>
    public string Process => ProcessNames.Of(Name, Node);

    /// <summary>When the program was last spawned (STARTING): supervisord counts a RUNNING process's uptime from there.</summary>
    public DateTimeOffset? SpawnedAt { get; init; }
}

/// <summary>supervisorctl's names: <c>GROUP:PROCESS</c>, a group's processes being its nodes (SPEC §8).</summary>
public static class ProcessNames
{
    public static string Of(string program, string? node) => node is null ? program : $"{program}:{node}";

    /// <summary>supervisorctl's <c>split_namespec</c>: <c>NAME</c> and <c>NAME:*</c> name the group (node null).</summary>
    public static (string Program, string? Node) Split(string name) =>
        name.IndexOf(':') is var colon && colon < 0 ? (name, null)
        : name[(colon + 1)..] is "*" or "" ? (name[..colon], null)
        : (name[..colon], name[(colon + 1)..]);
}

/// <summary>One recorded state transition (SPEC §4 <c>events</c>).</summary>
/// <param name="Node">Clustered: the node whose process made it (null standalone, and in journals written before).</param>
public sealed record ProgramTransition(Guid Id, DateTimeOffset At, string Program, ProgramState From, ProgramState To, string Description,
    string? Node = null) : IProgramJournalEvent
{
    public override string ToString() =>
        $"{At.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {ProcessNames.Of(Program, Node)} {From.Name()} -> {To.Name()} {Description}";
}

/// <summary>An operator's start or stop, remembered across host restarts.</summary>
public sealed record OperatorIntent(Guid Id, DateTimeOffset At, bool Stopped) : IProgramJournalEvent;

/// <summary>
/// Everything a journal held before it, in one event: the operator's last intent (null: none) and the last
/// transitions, oldest first. The events it stands for are deleted.
/// </summary>
/// <param name="IntentAt">When the intent was given (null in states written before it was kept).</param>
public sealed record ProgramJournalState(Guid Id, bool? OperatorStopped, IReadOnlyList<ProgramTransition> History, DateTimeOffset? IntentAt = null)
    : IProgramJournalEvent;

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

    /// <summary>The journal has replayed: the remembered operator intent (null: none), when it was given, and the history.</summary>
    public sealed record Recovered(bool? OperatorStopped, IReadOnlyList<ProgramTransition> History, DateTimeOffset? IntentAt = null)
    {
        public IReadOnlyList<ProgramTransition> History { get; } = History.ToArray();
    }

    /// <summary>The group's journal has replayed (clustered): the last intent an operator gave the whole group.</summary>
    public sealed record GroupRecovered(OperatorIntent? Intent);

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
