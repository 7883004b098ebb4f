using Akka.Actor;
using Akka.Event;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Decides when to scan: once at start, then every <c>crm.reminders.interval</c>. Triggers are messages, so
/// other sources (a database notification, the next due time) can be added beside the timer.
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithTimers
{
    private const string TickKey = "scan-tick";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly TimeSpan _interval;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record BacklogCounted(long Count);

    private sealed record ParkedCounted(long Count);

    public SchedulerActor(IActorRef scan, IReminderStore store, TimeSpan interval)
    {
        _interval = interval;
        Receive<SchedulerMessages.Tick>(_ =>
        {
            // The backlog before the scan: what the due_backlog gauge shows between ticks. A failed count keeps
            // the last one (the scan that meets the same error reports it).
            store.CountDueAsync().PipeTo(Self, success: n => new BacklogCounted(n), failure: _ => new BacklogCounted(-1));
            store.CountSkippedAsync().PipeTo(Self, success: n => new ParkedCounted(n), failure: _ => new ParkedCounted(-1));
            scan.Tell(new RunScan("timer"));
        });
        Receive<BacklogCounted>(counted => { if (counted.Count >= 0) CrmMetrics.SetDueBacklog(counted.Count); });
        Receive<ParkedCounted>(counted => { if (counted.Count >= 0) CrmMetrics.SetSkippedParked(counted.Count); });
        Receive<ScanCompleted>(_ => { });
        Receive<ScanFailed>(failed => _log.Debug("Scheduled scan failed: {0}; next try in {1}", failed.Reason, _interval));
    }

    protected override void PreStart()
    {
        _log.Info("Starting reminder worker (interval: {0}s)", _interval.TotalSeconds);
        Self.Tell(SchedulerMessages.Tick.Instance); // one scan at start
        Timers.StartPeriodicTimer(TickKey, SchedulerMessages.Tick.Instance, _interval);
    }

    public static Props Props(IActorRef scan, IReminderStore store, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(scan, store, interval));
}
