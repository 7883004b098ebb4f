using Akka.Actor;
using Akka.Event;
using Crm.Actors.Storage;
using static Crm.Actors.Reminders.SchedulerMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Keeps a LISTEN connection open (PostgreSQL) and tells the scheduler of every announced reminder. A lost
/// connection is reopened with backoff; the scheduler hears it went down (back to the short safety net) and, once
/// it is up again, scans once to catch up with what was not announced meanwhile.
/// </summary>
public sealed class ReminderListenerActor : ReceiveActor, IWithTimers
{
    private const string ReconnectKey = "reconnect";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReminderChangeFeed _feed;
    private readonly IActorRef _scheduler;
    private readonly TimeSpan _minBackoff;
    private readonly TimeSpan _maxBackoff;
    private TimeSpan _backoff;
    private CancellationTokenSource? _listening;
    private bool _warnedNoTrigger;
    private int _losses;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record Listening(bool TriggerPresent);

    private sealed record Lost(Exception Cause) : INoSerializationVerificationNeeded, IDeadLetterSuppression; // local: the exception as thrown; arriving after a stop, it is no news

    private sealed class Reconnect
    {
        public static readonly Reconnect Instance = new();
        private Reconnect() { }
    }

    public ReminderListenerActor(IReminderChangeFeed feed, IActorRef scheduler, TimeSpan minBackoff, TimeSpan maxBackoff)
    {
        _feed = feed;
        _scheduler = scheduler;
        _minBackoff = _backoff = minBackoff;
        _maxBackoff = maxBackoff;

        Receive<Listening>(up =>
        {
            _backoff = _minBackoff;
            if (_losses > 0) _log.Info("Listening for reminder changes again after {0} lost connection(s)", _losses);
            _losses = 0;
            if (up.TriggerPresent) _scheduler.Tell(ListenerUp.Instance);
            else if (!_warnedNoTrigger)
            {
                _warnedNoTrigger = true;
                _log.Warning("The trigger crm_actors_reminder_changed is missing: reminders wait for the planned wake-up or the tick; run Crm.Host --migrate");
            }
        });
        Receive<ReminderChanged>(changed => _scheduler.Tell(changed));
        Receive<Lost>(lost =>
        {
            _scheduler.Tell(ListenerDown.Instance);
            if (_losses++ == 0) _log.Warning("Lost the LISTEN connection ({0}); reconnecting with backoff", lost.Cause.Message);
            else _log.Debug("LISTEN reconnect failed ({0}); next try in {1}", lost.Cause.Message, _backoff);
            Timers.StartSingleTimer(ReconnectKey, Reconnect.Instance, _backoff);
            _backoff = _backoff * 2 > _maxBackoff ? _maxBackoff : _backoff * 2;
        });
        Receive<Reconnect>(_ => Listen());
    }

    protected override void PreStart() => Listen();

    private void Listen()
    {
        _listening?.Dispose();
        _listening = new CancellationTokenSource();
        var self = Self; // the callbacks run on Npgsql's threads
        _feed.ListenAsync(present => self.Tell(new Listening(present)), dueAt => self.Tell(new ReminderChanged(dueAt)), _listening.Token)
            .PipeTo(self, success: () => new Lost(new InvalidOperationException("the listener ended")), failure: e => new Lost(e));
    }

    protected override void PostStop()
    {
        _listening?.Cancel();
        _listening?.Dispose();
    }

    public static Props Props(IReminderChangeFeed feed, IActorRef scheduler, TimeSpan minBackoff, TimeSpan maxBackoff) =>
        Akka.Actor.Props.Create(() => new ReminderListenerActor(feed, scheduler, minBackoff, maxBackoff));
}
