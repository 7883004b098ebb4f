using Akka.Actor;
using Akka.Event;
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

    public SchedulerActor(IActorRef scan, TimeSpan interval)
    {
        _interval = interval;
        Receive<SchedulerMessages.Tick>(_ => scan.Tell(new RunScan("timer")));
        Receive<ScanCompleted>(_ => { });
        Receive<ScanFailed>(failed => _log.Debug("Scheduled scan failed: {0}; next try in {1}", failed.Reason, _interval));
    }

    protected override void PreStart()
    {
        _log.Info("Starting reminder worker (interval: {0}s)", _interval.TotalSeconds);
        Self.Tell(SchedulerMessages.Tick.Instance); // one scan at start
        Timers.StartPeriodicTimer(TickKey, SchedulerMessages.Tick.Instance, _interval);
    }

    public static Props Props(IActorRef scan, TimeSpan interval) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(scan, interval));
}
