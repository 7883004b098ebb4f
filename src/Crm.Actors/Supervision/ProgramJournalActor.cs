using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Crm.Actors.Supervision;

/// <summary>
/// A program's durable memory (Akka.Persistence.Sql): every state transition and the operator's intent. It lives
/// in the service's database, so it fails with it: a failed write or replay stops this actor, its backoff
/// supervisor brings it back, and on each recovery it tells the owner, which sends again what was not confirmed.
/// Events carry ids, so a resend after an unconfirmed write is recorded once.
///
/// It stays small with Akka.Persistence's snapshots: every <see cref="CompactEvery"/> events it saves its state
/// (<see cref="ProgramJournalState"/>: the intent and the last <see cref="ProgramHistoryActor.HistoryKept"/>
/// transitions) and deletes the events and older snapshots it stands for, so that a start reads one snapshot and at
/// most <see cref="CompactEvery"/> events, however long the history. Journals written before still read: every
/// event since the first start, or the state events of the compaction that preceded the snapshots; such a journal
/// takes a snapshot once it has replayed.
/// </summary>
public sealed class ProgramJournalActor : ReceivePersistentActor
{
    public const int CompactEvery = 100;

    private readonly Stopwatch _replay = Stopwatch.StartNew();
    private readonly IActorRef _owner;
    /// <summary>The ids of the events the journal holds (the state's transitions, and what followed it).</summary>
    private HashSet<Guid> _recorded = [];
    private List<ProgramTransition> _history = [];
    private bool? _operatorStopped;
    private DateTimeOffset? _intentAt;
    /// <summary>What the start read: a snapshot counts one, as each event does.</summary>
    private long _replayed;
    /// <summary>Events since the last snapshot (or since the first): at <see cref="CompactEvery"/>, a new snapshot.</summary>
    private int _sinceState;
    /// <summary>The replay met a state written as an event (the compaction before snapshots): replace it by a snapshot.</summary>
    private bool _legacyState;
    private bool _cleanupFailureLogged;

    private readonly Func<Exception, bool> _isExpected;
    private readonly Func<Exception, string>? _describe;

    public override string PersistenceId { get; }

    public ProgramJournalActor(string program, IActorRef owner, Func<Exception, bool> isExpected, Func<Exception, string>? describe = null)
    {
        _isExpected = isExpected;
        _describe = describe;
        PersistenceId = $"program-{program}";
        _owner = owner;

        Recover<SnapshotOffer>(offer =>
        {
            _replayed++;
            if (offer.Snapshot is ProgramJournalState state) Restore(state);
        });
        Recover<ProgramJournalState>(state =>
        {
            _replayed++;
            _legacyState = true;
            Restore(state);
        });
        Recover<ProgramTransition>(Replay);
        Recover<OperatorIntent>(Replay);
        Recover<RecoveryCompleted>(_ =>
        {
            _replay.Stop();
            Context.System.EventStream.Publish(new ProgramJournalMessages.Replayed(PersistenceId, _replayed, _replay.Elapsed));
            Context.GetLogger().Debug("The journal {0} replayed {1} events in {2:0} ms", PersistenceId, _replayed, _replay.Elapsed.TotalMilliseconds);
            ReportedCauses.Get(Context.System).Forget(); // its database works: a failure after this is news
            owner.Tell(new ProgramJournalMessages.Recovered(_operatorStopped, _history.ToList(), _intentAt));
            if (_sinceState >= CompactEvery || _legacyState) Snapshot();
        });

        Command<ProgramTransition>(Record);
        Command<OperatorIntent>(Record);
        Command<SaveSnapshotSuccess>(saved =>
        {
            // What the snapshot stands for: the events up to it, and the snapshots before it.
            DeleteMessages(saved.Metadata.SequenceNr);
            DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
        });
        Command<SaveSnapshotFailure>(failed => CleanupFailed("save its state", failed.Cause));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteSnapshotsSuccess>(_ => { });
        // The next snapshot deletes them with the rest; a replay meanwhile reads a little more.
        Command<DeleteMessagesFailure>(failure => CleanupFailed("delete what its state stands for", failure.Cause));
        Command<DeleteSnapshotsFailure>(failure => CleanupFailed("delete its older states", failure.Cause));
    }

    private void CleanupFailed(string what, Exception cause)
    {
        if (!_cleanupFailureLogged) Context.GetLogger().Warning("The journal {0} could not {1}: {2}", PersistenceId, what, cause.Message);
        _cleanupFailureLogged = true;
    }

    private void Replay(IProgramJournalEvent e)
    {
        _replayed++;
        Apply(e);
    }

    private void Record(IProgramJournalEvent e)
    {
        if (_recorded.Contains(e.Id))
        {
            _owner.Tell(new ProgramJournalMessages.Persisted(e.Id));
            return;
        }
        Persist(e, persisted =>
        {
            Apply(persisted);
            _owner.Tell(new ProgramJournalMessages.Persisted(persisted.Id));
            if (_sinceState >= CompactEvery) Snapshot();
        });
    }

    /// <summary>Saves the state; its success deletes what it stands for. A failed save is tried again 100 events later.</summary>
    private void Snapshot()
    {
        SaveSnapshot(new ProgramJournalState(Guid.NewGuid(), _operatorStopped, _history.ToList(), _intentAt));
        _sinceState = 0;
        _legacyState = false;
    }

    private void Apply(IProgramJournalEvent e)
    {
        _recorded.Add(e.Id);
        _sinceState++;
        switch (e)
        {
            case ProgramTransition transition:
                _history.Add(transition);
                if (_history.Count > ProgramHistoryActor.HistoryKept) _history.RemoveAt(0);
                break;
            case OperatorIntent intent:
                _operatorStopped = intent.Stopped;
                _intentAt = intent.At;
                break;
        }
    }

    private void Restore(ProgramJournalState state)
    {
        _operatorStopped = state.OperatorStopped;
        _intentAt = state.IntentAt;
        _history = state.History.ToList();
        _recorded = [.. _history.Select(t => t.Id)];
        _sinceState = 0;
    }

    // Akka logs these at ERROR with a stack trace, then stops the actor (its backoff supervisor brings it back).
    // The journal shares the programs' database: when that is away, the failure is expected, worth one line.

    /// <summary>Tells the owner at once, so that it never mistakes a journal that cannot answer for a slow one.</summary>
    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        _owner.Tell(new ProgramJournalMessages.Unavailable(reason.Message));
        if (_isExpected(reason)) Once("The journal could not replay {0}: {1}", PersistenceId, reason);
        else base.OnRecoveryFailure(reason, message);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        _owner.Tell(new ProgramJournalMessages.Unavailable(cause.Message));
        if (_isExpected(cause)) Once("The journal could not record {0}: {1}", $"{PersistenceId} #{sequenceNr}", cause);
        else base.OnPersistFailure(cause, @event, sequenceNr);
    }

    /// <summary>Its backoff supervisor retries, meeting the same cause each time: one WARNING for it, then DEBUG.</summary>
    private void Once(string format, string what, Exception cause)
    {
        var root = ReportedCauses.RootOf(cause, _describe);
        if (ReportedCauses.Get(Context.System).FirstTime(root)) Context.GetLogger().Warning(format, what, root);
        else Context.GetLogger().Debug(format, what, root);
    }

    /// <param name="isExpected">A failure of the journal's database the service explains in one line.</param>
    /// <param name="describe">Those words (a refused URL names its setting); null: the error's message.</param>
    public static Props Props(string program, IActorRef owner, Func<Exception, bool> isExpected, Func<Exception, string>? describe = null) =>
        Akka.Actor.Props.Create(() => new ProgramJournalActor(program, owner, isExpected, describe));
}
