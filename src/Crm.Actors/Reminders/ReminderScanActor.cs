using Akka.Actor;
using Akka.Event;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Reminders.NotificationWriterMessages;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Finds due reminders and feeds them to the writers, one page per batch, oldest first: the paging, the read-ahead
/// and which writer gets what are <see cref="ScanPass"/>'s decisions; this actor reads the pages, talks to the
/// writers, bounds each batch by batch-timeout, and answers who asked. A request that arrives during a pass is
/// answered by one more pass after it, so nothing that became due meanwhile waits for the next tick.
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
    private ScanPass _pass;
    private long _sequence;
    private IActorRef? _drainRequester;

    public ITimerScheduler Timers { get; set; } = null!;

    public ReminderScanActor(IReminderStore store, IReadOnlyList<IActorRef> writers, ReminderSettings settings, TimeProvider clock)
    {
        _store = store;
        _writers = writers;
        _settings = settings;
        _clock = clock;
        _pass = new ScanPass(writers.Count, settings.BatchSize, "none", DateTimeOffset.MinValue);
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
            Run(_pass.Drain());
        });
        Receive<PageLoaded>(loaded =>
        {
            foreach (var row in loaded.Parked)
            {
                ReminderMetrics.Process.RowsSkipped.Add(1);
                _log.Warning("Skipped interaction {0} (next action at {1}): {2}", row.InteractionId, row.NextActionAt, row.Reason);
            }
            Run(_pass.PageLoaded(loaded.Page, loaded.Parked.Count));
        });
        Receive<PageFailed>(failed => Fail(failed.Cause.Message, failed.Cause));
        Receive<BatchWritten>(written => _pass.IsInFlight(written.Sequence), written =>
        {
            Timers.Cancel(TimerKey(written.Sequence));
            Run(_pass.BatchWritten(written.Sequence, written.Outcome));
        });
        Receive<BatchFailed>(failed => _pass.IsInFlight(failed.Sequence), failed => Fail(failed.Reason, cause: null));
        Receive<WriterRestarting>(_ => Fail("a writer is restarting after a database error", cause: null));
        Receive<BatchTimedOut>(timeout => _pass.IsInFlight(timeout.Sequence),
            _ => Fail($"no answer from a writer within {_settings.BatchTimeout}", cause: null));
        Receive<BatchWritten>(_ => { });
        Receive<BatchFailed>(_ => { });
        Receive<BatchTimedOut>(_ => { });
    }

    private void StartPass(string trigger, List<IActorRef> waiters)
    {
        _waiters = waiters;
        _pass = new ScanPass(_writers.Count, _settings.BatchSize, trigger, _clock.GetUtcNow());
        Become(Scanning);
        Run(_pass.Start(_sequence));
    }

    /// <summary>Carries out the pass's decisions.</summary>
    private void Run(IReadOnlyList<ScanPass.Step> steps)
    {
        _sequence = _pass.LastSequence;
        foreach (var step in steps)
        {
            switch (step)
            {
                case ScanPass.Step.Load load:
                    LoadAsync(load.Cursor).PipeTo(Self, success: loaded => loaded, failure: e => new PageFailed(e));
                    break;
                case ScanPass.Step.Dispatch dispatch:
                    _writers[dispatch.Writer].Tell(new WriteBatch(dispatch.Sequence, dispatch.Page));
                    Timers.StartSingleTimer(TimerKey(dispatch.Sequence), new BatchTimedOut(dispatch.Sequence), _settings.BatchTimeout);
                    break;
                case ScanPass.Step.Completed completed:
                    Complete(completed.Report);
                    break;
                case ScanPass.Step.Drained:
                    Fail("the program is stopping", cause: null);
                    break;
            }
        }
    }

    /// <summary>The next page; a pass begins by parking the due rows that cannot be read, so none blocks it.</summary>
    private async Task<PageLoaded> LoadAsync(ReminderOccurrence? cursor)
    {
        IReadOnlyList<UnreadableRow> parked = cursor is null ? await _store.ParkUnreadableAsync() : [];
        return new PageLoaded(await _store.FindDueAsync(cursor, _settings.BatchSize), parked);
    }

    private static string TimerKey(long sequence) => $"batch-{sequence}";

    private void Complete(ScanReport passed)
    {
        var report = passed with { Duration = _clock.GetUtcNow() - passed.StartedAt };
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
        ReminderMetrics.Process.RemindersFound.Add(report.Found);
        ReminderMetrics.Process.ScanDuration.Record(report.Duration.TotalSeconds);
        ReminderMetrics.Process.LastSuccess.Set(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() / 1000.0);
        var completed = new ScanCompleted(report);
        Tell(_waiters, completed);
        Context.System.EventStream.Publish(completed);
        _waiters = [];
        NextOrIdle();
    }

    private void Fail(string reason, Exception? cause)
    {
        foreach (var sequence in _pass.InFlight) Timers.Cancel(TimerKey(sequence));
        _pass.Abandon();
        var report = _pass.Report;
        if (_drainRequester is null)
            _log.Warning("Scan ({0}) stopped after {1} notifications: {2}", report.Trigger, report.Outcome.Written, reason);
        else
            _log.Info("Scan ({0}) stopped after {1} notifications: {2}", report.Trigger, report.Outcome.Written, reason);
        var failed = new ScanFailed(report.Trigger, reason);
        Tell(_waiters, failed);
        Context.System.EventStream.Publish(failed);
        _waiters = [];
        if (cause is not null)
        {
            // Let the supervisor judge a database error (restart on transient ones); queued requesters are told.
            Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? report.Trigger, reason));
            _nextWaiters = [];
            throw new ReminderPipelineException("scanning for due reminders failed", cause);
        }
        NextOrIdle();
    }

    private void NextOrIdle()
    {
        if (_drainRequester is { } drained)
        {
            Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _pass.Report.Trigger, "the program is stopping"));
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
        Tell(_waiters, new ScanFailed(_pass.Report.Trigger, "the scan stopped"));
        Tell(_nextWaiters, new ScanFailed(_nextTrigger ?? _pass.Report.Trigger, "the scan stopped"));
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
