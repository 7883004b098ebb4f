using Akka.Actor;
using Akka.Event;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Reminders.NotificationWriterMessages;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Finds due reminders and feeds them to the writers, one page per batch, oldest first. Each writer has at most
/// one batch in flight, and the scan reads one page ahead of them, so that a writer that finishes gets its next
/// batch at once instead of waiting for a page query. Memory holds at most one page per writer plus the one read
/// ahead (or being read), whatever the backlog; with several writers the database writes batches in parallel. A
/// request that arrives during a pass is answered by one more pass after it, so nothing that became due meanwhile
/// waits for the next tick.
/// </summary>
public sealed class ReminderScanActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReminderStore _store;
    private readonly IReadOnlyList<IActorRef> _writers;
    private readonly ReminderSettings _settings;
    private readonly TimeProvider _clock;

    private List<IActorRef> _waiters = [];
    private List<IActorRef> _nextWaiters = [];
    private string? _nextTrigger;
    private ScanReport _report = ScanReport.Start("none", DateTimeOffset.MinValue);
    private ReminderOccurrence? _cursor;
    private long _sequence;
    private bool _loading;
    /// <summary>The page read ahead, waiting for a free writer.</summary>
    private IReadOnlyList<DueInteraction>? _ready;
    private bool _exhausted;
    private IActorRef? _drainRequester;

    /// <summary>Batches in flight: their size and the writer that holds them.</summary>
    private readonly Dictionary<long, (int Size, int Writer)> _inFlight = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public ReminderScanActor(IReminderStore store, IReadOnlyList<IActorRef> writers, ReminderSettings settings, TimeProvider clock)
    {
        _store = store;
        _writers = writers;
        _settings = settings;
        _clock = clock;
        Idle();
    }

    private void Idle()
    {
        Receive<RunScan>(request => StartPass(request.Trigger, [Sender]));
        Receive<Drain>(_ => Sender.Tell(Drained.Instance));
        // Replies to batches of a pass that already ended: their transactions decided for themselves.
        Receive<BatchWritten>(_ => { });
        Receive<BatchFailed>(_ => { });
        Receive<WriterRestarting>(_ => { });
        Receive<BatchTimedOut>(_ => { });
    }

    private void Scanning()
    {
        Receive<RunScan>(request =>
        {
            _nextTrigger ??= request.Trigger;
            _nextWaiters.Add(Sender);
        });
        Receive<Drain>(_ =>
        {
            _drainRequester = Sender;
            FinishIfDone();
        });
        Receive<PageLoaded>(loaded =>
        {
            _loading = false;
            foreach (var row in loaded.Parked)
            {
                CrmMetrics.RowsSkipped.Add(1);
                _log.Warning("Skipped interaction {0} (next action at {1}): {2}", row.InteractionId, row.NextActionAt, row.Reason);
            }
            _report = _report.WithParked(loaded.Parked.Count);
            if (loaded.Page.Count < _settings.BatchSize) _exhausted = true;
            if (loaded.Page.Count > 0 && _drainRequester is null)
            {
                _cursor = loaded.Page[^1].Occurrence;
                _ready = loaded.Page;
            }
            Continue();
        });
        Receive<PageFailed>(failed => Fail(failed.Cause.Message, failed.Cause));
        Receive<BatchWritten>(written => _inFlight.ContainsKey(written.Sequence), written =>
        {
            Timers.Cancel(TimerKey(written.Sequence));
            _report = _report.WithBatch(_inFlight[written.Sequence].Size, written.Outcome);
            _inFlight.Remove(written.Sequence);
            Continue();
        });
        Receive<BatchFailed>(failed => _inFlight.ContainsKey(failed.Sequence), failed => Fail(failed.Reason, cause: null));
        Receive<WriterRestarting>(_ => Fail("a writer is restarting after a database error", cause: null));
        Receive<BatchTimedOut>(timeout => _inFlight.ContainsKey(timeout.Sequence),
            _ => Fail($"no answer from a writer within {_settings.BatchTimeout}", cause: null));
        Receive<BatchWritten>(_ => { });
        Receive<BatchFailed>(_ => { });
        Receive<BatchTimedOut>(_ => { });
    }

    private void StartPass(string trigger, List<IActorRef> waiters)
    {
        _waiters = waiters;
        _report = ScanReport.Start(trigger, _clock.GetUtcNow());
        _cursor = null;
        _ready = null;
        _exhausted = false;
        _inFlight.Clear();
        Become(Scanning);
        Continue();
    }

    /// <summary>
    /// Hands the page read ahead to a free writer, then reads the next one while the writers write; ends the pass
    /// when all is written.
    /// </summary>
    private void Continue()
    {
        if (FinishIfDone()) return;
        if (_drainRequester is not null) return;
        if (_ready is { } page && _inFlight.Count < _writers.Count)
        {
            _ready = null;
            Dispatch(page);
        }
        if (!_loading && !_exhausted && _ready is null)
        {
            _loading = true;
            LoadAsync(_cursor).PipeTo(Self, success: loaded => loaded, failure: e => new PageFailed(e));
        }
    }

    /// <summary>The next page; a pass begins by parking the due rows that cannot be read, so none blocks it.</summary>
    private async Task<PageLoaded> LoadAsync(ReminderOccurrence? cursor)
    {
        IReadOnlyList<UnreadableRow> parked = cursor is null ? await _store.ParkUnreadableAsync() : [];
        return new PageLoaded(await _store.FindDueAsync(cursor, _settings.BatchSize), parked);
    }

    private bool FinishIfDone()
    {
        if (_loading || _inFlight.Count > 0) return false;
        // A page read ahead but not handed out is dropped on a drain: nothing of it was written.
        if (_drainRequester is not null) Fail("the program is stopping", cause: null);
        else if (_exhausted && _ready is null) Complete();
        else return false;
        return true;
    }

    private void Dispatch(IReadOnlyList<DueInteraction> page)
    {
        var busy = _inFlight.Values.Select(v => v.Writer).ToHashSet();
        var writer = Enumerable.Range(0, _writers.Count).First(i => !busy.Contains(i));
        var sequence = ++_sequence;
        _inFlight[sequence] = (page.Count, writer);
        _writers[writer].Tell(new WriteBatch(sequence, page));
        Timers.StartSingleTimer(TimerKey(sequence), new BatchTimedOut(sequence), _settings.BatchTimeout);
    }

    private static string TimerKey(long sequence) => $"batch-{sequence}";

    private void Complete()
    {
        var report = _report with { Duration = _clock.GetUtcNow() - _report.StartedAt };
        var outcome = report.Outcome;
        // A scan that found only rows another transaction holds is repeated every held-recheck while they stay held:
        // one line when they are written, not one per recheck.
        var onlyHeld = outcome.Held > 0 && outcome.Held == report.Found;
        if (outcome.Held > 0)
            _log.Log(onlyHeld ? LogLevel.DebugLevel : LogLevel.InfoLevel, null, "{0}",
                $"Found {report.Found} interactions needing reminders: {outcome.Written} notified, {outcome.NotDue} no longer due, "
                + $"{outcome.Skipped} skipped, {outcome.Held} held by another transaction, looked at again soon "
                + $"({report.Batches} batches, {report.Duration.TotalMilliseconds:0} ms)");
        else if (report.Found > 0 || outcome.Skipped > 0)
            _log.Info("Found {0} interactions needing reminders: {1} notified, {2} no longer due, {3} skipped ({4} batches, {5:0} ms)",
                report.Found, outcome.Written, outcome.NotDue, outcome.Skipped, report.Batches, report.Duration.TotalMilliseconds);
        else
            _log.Debug("Found 0 interactions needing reminders ({0:0} ms)", report.Duration.TotalMilliseconds);
        CrmMetrics.RemindersFound.Add(report.Found);
        CrmMetrics.ScanDuration.Record(report.Duration.TotalSeconds);
        var completed = new ScanCompleted(report);
        Tell(_waiters, completed);
        Context.System.EventStream.Publish(completed);
        _waiters = [];
        NextOrIdle();
    }

    private void Fail(string reason, Exception? cause)
    {
        foreach (var sequence in _inFlight.Keys) Timers.Cancel(TimerKey(sequence));
        _inFlight.Clear();
        _ready = null;
        _loading = false;
        if (_drainRequester is null)
            _log.Warning("Scan ({0}) stopped after {1} notifications: {2}", _report.Trigger, _report.Outcome.Written, reason);
        else
            _log.Info("Scan ({0}) stopped after {1} notifications: {2}", _report.Trigger, _report.Outcome.Written, reason);
        var failed = new ScanFailed(_report.Trigger, reason);
        Tell(_waiters, failed);
        Context.System.EventStream.Publish(failed);
        _waiters = [];
        if (cause is not null)
        {
            // Let the supervisor judge a database error (restart on transient ones); queued requesters are told.
            Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _report.Trigger, reason));
            _nextWaiters = [];
            throw new ReminderPipelineException("scanning for due reminders failed", cause);
        }
        NextOrIdle();
    }

    private void NextOrIdle()
    {
        if (_drainRequester is { } drained)
        {
            Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _report.Trigger, "the program is stopping"));
            _nextWaiters = [];
            _nextTrigger = null;
            drained.Tell(Drained.Instance);
            _drainRequester = null;
            Become(Idle);
        }
        else if (_nextTrigger is { } trigger)
        {
            var waiters = _nextWaiters;
            _nextTrigger = null;
            _nextWaiters = [];
            StartPass(trigger, waiters);
        }
        else
        {
            Become(Idle);
        }
    }

    /// <summary>
    /// Whoever waits for a pass hears that it ended, even when the actor stops or restarts mid-pass; a drain that
    /// waited for it too (the scan failed while stopping: nothing of it is in flight any more).
    /// </summary>
    protected override void PostStop()
    {
        Tell(_waiters, new ScanFailed(_report.Trigger, "the scan stopped"));
        Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _report.Trigger, "the scan stopped"));
        _drainRequester?.Tell(Drained.Instance);
    }

    private static void Tell(List<IActorRef> waiters, object message)
    {
        foreach (var waiter in waiters.Where(w => !w.IsNobody()))
            waiter.Tell(message);
    }

    public static Props Props(IReminderStore store, IReadOnlyList<IActorRef> writers, ReminderSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ReminderScanActor(store, writers, settings, clock ?? TimeProvider.System));
}
