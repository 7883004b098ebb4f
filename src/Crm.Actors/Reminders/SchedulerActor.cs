using Akka.Actor;
using Akka.Event;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Reminders.ReminderScanMessages;
using static Crm.Actors.Reminders.SchedulerMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Decides when to scan (SPEC §9): once at start; at the planned wake-up, the earliest upcoming next_action_at
/// as the database reports it after each scan; at once when the database announces a reminder already due, or
/// earlier than planned; and on the safety-net tick (<c>interval</c>, or <c>listen-interval</c> while the database
/// announces every change). One scan at a time: requests meanwhile make one more scan after it. An idle service
/// thus sends a scan and one outlook query per tick, and nothing between. After a scan that found due rows another
/// transaction held, the next comes within <c>held-recheck</c>, and so on until a scan finds none held: their
/// release is never announced (SPEC §8).
/// </summary>
public sealed class SchedulerActor : ReceiveActor, IWithTimers
{
    private const string TickKey = "scan-tick";
    private const string WakeKey = "wake";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IActorRef _scan;
    private readonly IReminderStore _store;
    private readonly ReminderSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Random _random = new();

    private bool _scanning;
    private string? _again;
    private DateTimeOffset? _planned;
    private string _wakeTrigger = "planned";
    private bool _listening;
    private bool _everListened;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <param name="Held">Due rows the scan before found held by another transaction.</param>
    private sealed record OutlookRead(ReminderOutlook Outlook, int Held);

    private sealed record OutlookFailed(int Held);

    public SchedulerActor(IActorRef scan, IReminderStore store, ReminderSettings settings, TimeProvider clock)
    {
        _scan = scan;
        _store = store;
        _settings = settings;
        _clock = clock;

        Receive<Tick>(_ => Scan("timer"));
        Receive<Wake>(_ =>
        {
            _planned = null;
            Scan(_wakeTrigger);
        });
        Receive<ReminderChanged>(changed =>
        {
            var dueIn = changed.DueAt - _clock.GetUtcNow();
            if (dueIn <= TimeSpan.Zero) Scan("changed");
            else if (WakePlan.Delay(dueIn, _settings.SafetyInterval(_listening), Jitter()) is { } delay)
                Plan(new WakePlan.WakeUp(delay, Recheck: false));
        });
        Receive<ListenerUp>(_ =>
        {
            if (_listening) return;
            _listening = true;
            StartTicks();
            // Changes made before LISTEN was in place (or while it was down) went unannounced: one scan catches up.
            Scan(_everListened ? "catch-up" : "listening");
            _everListened = true;
        });
        Receive<ListenerDown>(_ =>
        {
            if (!_listening) return;
            _listening = false;
            StartTicks();
        });
        Receive<ScanCompleted>(completed =>
        {
            Scanned();
            // What lies ahead, by the database's clock: the next wake-up, and the gauges.
            var held = completed.Report.Outcome.Held;
            _store.OutlookAsync().PipeTo(Self, success: o => new OutlookRead(o, held), failure: _ => new OutlookFailed(held));
        });
        Receive<ScanFailed>(failed =>
        {
            _log.Debug("Scheduled scan failed: {0}; next try at the next tick or change", failed.Reason);
            Scanned();
        });
        Receive<OutlookRead>(read =>
        {
            ReminderMetrics.Process.DueBacklog.Set(read.Outlook.DueBacklog);
            ReminderMetrics.Process.SkippedParked.Set(read.Outlook.Parked);
            PlanAfterScan(read.Held, read.Outlook.NextDueIn);
            _log.Debug("Outlook: next reminder due in {0}, {1} due now, {2} parked", read.Outlook.NextDueIn?.ToString() ?? "none",
                read.Outlook.DueBacklog, read.Outlook.Parked);
        });
        // The scan that meets the same error reports it; held rows are looked at again all the same.
        Receive<OutlookFailed>(failed => PlanAfterScan(failed.Held, dueIn: null));
    }

    private void Scan(string trigger)
    {
        if (_scanning)
        {
            _again ??= trigger;
            return;
        }
        _scanning = true;
        _scan.Tell(new RunScan(trigger));
    }

    private void Scanned()
    {
        _scanning = false;
        if (_again is not { } trigger) return;
        _again = null;
        Scan(trigger);
    }

    private TimeSpan Jitter() => _settings.WakeJitter * _random.NextDouble();

    private void PlanAfterScan(int held, TimeSpan? dueIn)
    {
        if (WakePlan.AfterScan(held, dueIn, _settings.SafetyInterval(_listening), _settings.HeldRecheck, Jitter()) is { } wake) Plan(wake);
    }

    private void Plan(WakePlan.WakeUp wake)
    {
        var at = _clock.GetUtcNow() + wake.Delay;
        if (!WakePlan.Replaces(at, _planned)) return;
        _planned = at;
        _wakeTrigger = wake.Trigger;
        Timers.StartSingleTimer(WakeKey, Wake.Instance, wake.Delay);
        if (wake.Recheck) _log.Debug("Recheck planned in {0}: due rows were held by another transaction", wake.Delay);
        else _log.Debug("Wake-up planned in {0}", wake.Delay);
    }

    private void StartTicks()
    {
        var interval = _settings.SafetyInterval(_listening);
        Timers.StartPeriodicTimer(TickKey, Tick.Instance, interval);
        _log.Info("Safety-net scan every {0}s ({1})", interval.TotalSeconds,
            _listening ? "the database announces every change" : "no change announced by the database");
    }

    protected override void PreStart()
    {
        _log.Info("Starting reminder worker (interval: {0}s)", _settings.Interval.TotalSeconds);
        Self.Tell(Tick.Instance); // one scan at start
        Timers.StartPeriodicTimer(TickKey, Tick.Instance, _settings.Interval);
    }

    public static Props Props(IActorRef scan, IReminderStore store, ReminderSettings settings, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new SchedulerActor(scan, store, settings, clock ?? TimeProvider.System));
}
