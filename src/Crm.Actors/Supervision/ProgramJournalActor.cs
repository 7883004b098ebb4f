using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Crm.Actors.Storage;

namespace Crm.Actors.Supervision;

/// <summary>
/// A program's durable memory (Akka.Persistence.Sql): every state transition and the operator's intent. It lives
/// in the reminders' database, so it fails with it: a failed write or replay stops this actor, its backoff
/// supervisor brings it back, and on each recovery it tells the owner, which sends again what was not confirmed.
/// Events carry ids, so a resend after an unconfirmed write is recorded once.
/// </summary>
public sealed class ProgramJournalActor : ReceivePersistentActor
{
    private readonly HashSet<Guid> _recorded = [];
    private readonly List<ProgramTransition> _history = [];
    private readonly IActorRef _owner;
    private bool? _operatorStopped;

    public override string PersistenceId { get; }

    public ProgramJournalActor(string program, IActorRef owner)
    {
        PersistenceId = $"program-{program}";
        _owner = owner;

        Recover<ProgramTransition>(Apply);
        Recover<OperatorIntent>(Apply);
        Recover<RecoveryCompleted>(_ => owner.Tell(new ProgramJournalMessages.Recovered(_operatorStopped, _history.ToList())));

        Command<ProgramTransition>(e => Record(e, owner));
        Command<OperatorIntent>(e => Record(e, owner));
    }

    private void Record<T>(T e, IActorRef owner) where T : class, IProgramJournalEvent
    {
        if (_recorded.Contains(e.Id))
        {
            owner.Tell(new ProgramJournalMessages.Persisted(e.Id));
            return;
        }
        Persist(e, persisted =>
        {
            Apply(persisted);
            owner.Tell(new ProgramJournalMessages.Persisted(persisted.Id));
        });
    }

    private void Apply(IProgramJournalEvent e)
    {
        _recorded.Add(e.Id);
        switch (e)
        {
            case ProgramTransition transition:
                _history.Add(transition);
                if (_history.Count > ProgramHistoryActor.HistoryKept) _history.RemoveAt(0);
                break;
            case OperatorIntent intent:
                _operatorStopped = intent.Stopped;
                break;
        }
    }

    // Akka logs these at ERROR with a stack trace, then stops the actor (its backoff supervisor brings it back).
    // The journal shares the reminders' database: when that is away, the failure is expected, worth one line.

    /// <summary>Tells the owner at once, so that it never mistakes a journal that cannot answer for a slow one.</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _owner.Tell(new ProgramJournalMessages.Unavailable(reason.Message));
        if (StoreErrors.IsExpected(reason)) Context.GetLogger().Warning("The journal could not replay {0}: {1}", PersistenceId, reason.Message);
        else base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _owner.Tell(new ProgramJournalMessages.Unavailable(cause.Message));
        if (StoreErrors.IsExpected(cause)) Context.GetLogger().Warning("The journal could not record {0} #{1}: {2}", PersistenceId, sequenceNr, cause.Message);
        else base.OnPersistFailure(cause, @event, sequenceNr);
    }

    public static Props Props(string program, IActorRef owner) =>
        Akka.Actor.Props.Create(() => new ProgramJournalActor(program, owner));
}
