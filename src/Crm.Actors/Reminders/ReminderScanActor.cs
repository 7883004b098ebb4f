using Akka.Actor;
using Akka.Event;
using Crm.Actors.Storage;
using static Crm.Actors.Reminders.NotificationWriterMessages;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Finds due reminders and feeds them to the writer, one page at a time, oldest first. Memory is bounded by
/// one page whatever the backlog. A request that arrives during a pass is answered by one more pass after it,
/// so nothing that became due meanwhile waits for the next tick.
/// </summary>
public sealed class ReminderScanActor : ReceiveActor, IWithTimers
{
    private const string BatchTimeoutKey = "batch-timeout";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReminderStore _store;
    private readonly IActorRef _writer;
    private readonly ReminderSettings _settings;
    private readonly TimeProvider _clock;

    private List<IActorRef> _waiters = [];
    private List<IActorRef> _nextWaiters = [];
    private string? _nextTrigger;
    private ScanReport _report = ScanReport.Start("none", DateTimeOffset.MinValue);
    private ReminderOccurrence? _cursor;
    private int _pageSize;
    private long _sequence;
    private IActorRef? _drainRequester;

    public ITimerScheduler Timers { get; set; } = null!;

    public ReminderScanActor(IReminderStore store, IActorRef writer, ReminderSettings settings, TimeProvider clock)
    {
        _store = store;
        _writer = writer;
        _settings = settings;
        _clock = clock;
        Idle();
    }

    private void Idle()
    {
        Receive<RunScan>(request => StartPass(request.Trigger, [Sender]));
        Receive<Drain>(_ => Sender.Tell(Drained.Instance));
    }

    private void Scanning()
    {
        Receive<RunScan>(request =>
        {
            _nextTrigger ??= request.Trigger;
            _nextWaiters.Add(Sender);
        });
        Receive<Drain>(_ => _drainRequester = Sender);
        Receive<PageLoaded>(loaded =>
        {
            if (_drainRequester is not null)
            {
                Fail("the program is stopping", cause: null);
                return;
            }
            if (loaded.Page.Count == 0)
            {
                Complete();
                return;
            }
            _pageSize = loaded.Page.Count;
            _cursor = loaded.Page[^1];
            _writer.Tell(new WriteBatch(++_sequence, loaded.Page));
            Timers.StartSingleTimer(BatchTimeoutKey, BatchTimedOut.Instance, _settings.BatchTimeout);
        });
        Receive<BatchWritten>(written => written.Sequence == _sequence, written =>
        {
            Timers.Cancel(BatchTimeoutKey);
            _report = _report.WithBatch(_pageSize, written.Outcome);
            if (_pageSize < _settings.BatchSize) Complete();
            else if (_drainRequester is not null) Fail("the program is stopping", cause: null);
            else LoadPage();
        });
        Receive<BatchFailed>(failed => failed.Sequence == _sequence, failed => Fail(failed.Reason, cause: null));
        Receive<PageFailed>(failed => Fail(failed.Cause.Message, failed.Cause));
        Receive<WriterRestarting>(_ => Fail("the writer is restarting after a database error", cause: null));
        Receive<BatchTimedOut>(_ => Fail($"no answer from the writer within {_settings.BatchTimeout}", cause: null));
        // A reply to a batch of a pass that already ended (timed out): its transaction decided for itself.
        Receive<BatchWritten>(_ => { });
        Receive<BatchFailed>(_ => { });
    }

    private void StartPass(string trigger, List<IActorRef> waiters)
    {
        _waiters = waiters;
        _report = ScanReport.Start(trigger, _clock.GetUtcNow());
        _cursor = null;
        Become(Scanning);
        LoadPage();
    }

    private void LoadPage()
    {
        _store.FindDueAsync(_cursor, _settings.BatchSize)
            .PipeTo(Self, success: page => new PageLoaded(page), failure: e => new PageFailed(e));
    }

    private void Complete()
    {
        var report = _report with { Duration = _clock.GetUtcNow() - _report.StartedAt };
        var outcome = report.Outcome;
        if (report.Found > 0 || outcome.Skipped > 0)
            _log.Info("Found {0} interactions needing reminders: {1} notified, {2} no longer due, {3} skipped ({4} batches, {5:0} ms)",
                report.Found, outcome.Written, outcome.NotDue, outcome.Skipped, report.Batches, report.Duration.TotalMilliseconds);
        else
            _log.Debug("Found 0 interactions needing reminders ({0:0} ms)", report.Duration.TotalMilliseconds);
        Tell(_waiters, new ScanCompleted(report));
        _waiters = [];
        NextOrIdle();
    }

    private void Fail(string reason, Exception? cause)
    {
        Timers.Cancel(BatchTimeoutKey);
        _log.Warning("Scan ({0}) stopped after {1} notifications: {2}", _report.Trigger, _report.Outcome.Written, reason);
        Tell(_waiters, new ScanFailed(_report.Trigger, reason));
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

    /// <summary>Whoever waits for a pass hears that it ended, even when the actor stops or restarts mid-pass.</summary>
    protected override void PostStop()
    {
        Tell(_waiters, new ScanFailed(_report.Trigger, "the scan stopped"));
        Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _report.Trigger, "the scan stopped"));
    }

    private void Tell(List<IActorRef> waiters, object message)
    {
        foreach (var waiter in waiters.Where(w => !w.IsNobody()))
            waiter.Tell(message);
    }

    public static Props Props(IReminderStore store, IActorRef writer, ReminderSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ReminderScanActor(store, writer, settings, clock ?? TimeProvider.System));
}
