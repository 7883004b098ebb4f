using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using static Crm.Actors.Supervision.ProgramJournalMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// Clustered: the operator's last start or stop of a whole group, in the journal (SPEC §8), so that it survives
/// the death of any node and a restart of the whole cluster, and a node that starts later takes it. Why the journal
/// rather than Akka.DistributedData: it lives in the database every node must reach anyway to do its work, so it
/// needs no durable storage of its own on each node (DistributedData's LMDB files go with a container), and a cluster
/// restarted from nothing finds it there. Live, every node hears a group command at once (the root asks them all);
/// the journal is read at a process's boot (<see cref="ProgramHistoryActor"/>), where the newer of the group's and
/// the process's own intent wins.
///
/// Any node may write the group's journal, so each write is a short-lived <see cref="GroupIntentJournalActor"/>
/// that replays first: two nodes writing at once collide on the journal's sequence number, and the loser, failed,
/// is tried again. What is not confirmed is retried every few seconds; only the last intent per group matters.
/// </summary>
public sealed class GroupIntentActor : ReceiveActor, IWithTimers
{
    private static readonly TimeSpan RetryAfter = TimeSpan.FromSeconds(2);

    /// <summary>Journal <paramref name="Intent"/> as the group <paramref name="Program"/>'s.</summary>
    public sealed record Record(string Program, OperatorIntent Intent);

    private sealed class Retry : INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly Retry Instance = new();
        private Retry() { }
    }

    private readonly Dictionary<string, OperatorIntent> _pending = [];
    private readonly Dictionary<IActorRef, (string Program, Guid Id)> _writers = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public GroupIntentActor()
    {
        Receive<Record>(record =>
        {
            _pending[record.Program] = record.Intent;
            Write(record.Program);
        });
        Receive<Persisted>(persisted =>
        {
            foreach (var (program, intent) in _pending.Where(p => p.Value.Id == persisted.Id).ToList()) _pending.Remove(program);
        });
        Receive<Terminated>(t =>
        {
            if (!_writers.Remove(t.ActorRef, out var written)) return;
            if (_pending.TryGetValue(written.Program, out var intent) && intent.Id == written.Id)
                Timers.StartSingleTimer(nameof(Retry), Retry.Instance, RetryAfter);
        });
        Receive<Retry>(_ =>
        {
            foreach (var program in _pending.Keys.ToList()) Write(program);
        });
        Receive<Unavailable>(_ => { }); // the writer stops; its Terminated schedules the retry
    }

    private void Write(string program)
    {
        if (_writers.Values.Any(w => w.Program == program)) return; // one at a time per group; the newest follows
        var intent = _pending[program];
        var writer = Context.Watch(Context.ActorOf(GroupIntentJournalActor.Props(program, Self, intent)));
        _writers[writer] = (program, intent.Id);
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new GroupIntentActor());
}

/// <summary>
/// The journal of a group's operator intent (<c>group-NAME</c>), opened for one read or one write: it replays, tells
/// <c>owner</c> the last intent (<see cref="GroupRecovered"/>) or writes the given one (<see cref="Persisted"/>),
/// then stops. Older events are deleted after a write, so a replay reads one event.
/// </summary>
public sealed class GroupIntentJournalActor : ReceivePersistentActor
{
    private readonly IActorRef _owner;
    private OperatorIntent? _last;

    public override string PersistenceId { get; }

    public GroupIntentJournalActor(string program, IActorRef owner, OperatorIntent? toRecord)
    {
        _owner = owner;
        PersistenceId = $"group-{program}";
        Recover<OperatorIntent>(intent => _last = intent);
        Recover<RecoveryCompleted>(_ =>
        {
            if (toRecord is null)
            {
                owner.Tell(new GroupRecovered(_last));
                Context.Stop(Self);
                return;
            }
            Persist(toRecord, persisted =>
            {
                owner.Tell(new Persisted(persisted.Id));
                if (LastSequenceNr > 1) DeleteMessages(LastSequenceNr - 1);
                else Context.Stop(Self);
            });
        });
        Command<DeleteMessagesSuccess>(_ => Context.Stop(Self));
        Command<DeleteMessagesFailure>(_ => Context.Stop(Self)); // the next write deletes them with the rest
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Context.GetLogger().Warning("The journal {0} could not be read: {1}", PersistenceId, reason.Message);
        _owner.Tell(new Unavailable(reason.Message));
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // Another node wrote the group's intent at the same time (the same sequence number), or the database is away.
        Context.GetLogger().Info("The journal {0} could not record #{1} ({2}); it is tried again", PersistenceId, sequenceNr, cause.Message);
        _owner.Tell(new Unavailable(cause.Message));
    }

    public static Props Props(string program, IActorRef owner, OperatorIntent? toRecord) =>
        Akka.Actor.Props.Create(() => new GroupIntentJournalActor(program, owner, toRecord));
}
