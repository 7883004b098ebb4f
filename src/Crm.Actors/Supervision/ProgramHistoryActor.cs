using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using static Crm.Actors.Supervision.ProgramJournalMessages;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// A program's memory, the journal's side of its supervisor: the last transitions (for <c>crmctl events</c>) and,
/// on a durable host, the journal (<see cref="ProgramJournalActor"/>, in the service's database) that keeps them
/// and the operator's intent across restarts.
///
/// The journal fails with its database. What it has not confirmed waits in an outbox, sent again each time it has
/// replayed, and only then: a journal still replaying would persist new events before the outbox's older ones. The
/// supervisor boots from what the journal remembers (<see cref="ProgramInput.Boot"/>), so it is waited for; when it
/// cannot replay (<see cref="Unavailable"/>) or says nothing for 60 s, the boot goes on without it, and the
/// remembered intent follows when it answers (<see cref="ProgramInput.Remembered"/>).
/// </summary>
public sealed class ProgramHistoryActor : ReceiveActor, IWithTimers
{
    public const int HistoryKept = 1_000;
    /// <summary>A journal that answers late is waited for: booting without it would forget an operator's stop.</summary>
    internal static readonly TimeSpan JournalWait = TimeSpan.FromSeconds(60);
    private const string GroupJournalName = "group-journal";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _program;
    private readonly bool _durable;
    private readonly ProgramSettings _settings;
    private readonly List<ProgramTransition> _history = [];
    private readonly List<IProgramJournalEvent> _outbox = [];
    private IActorRef? _journal;
    /// <summary>The journal has replayed and not failed since: events go to it as they happen.</summary>
    private bool _journalReady;
    private bool _booted;
    private bool _intentUnknown;
    private bool? _lastIntent;
    /// <summary>Clustered: the group whose journaled intent the boot also reads (null standalone).</summary>
    private readonly string? _group;
    /// <summary>The own journal's answer, while the group's is awaited.</summary>
    private Recovered? _ownRecovered;
    private bool _groupAnswered;
    private OperatorIntent? _groupIntent;

    public ITimerScheduler Timers { get; set; } = null!;

    private readonly Func<Exception, bool> _isExpected;
    private readonly Func<Exception, string>? _describe;
    /// <summary>A host shutdown waiting for the journal to confirm the last transitions (STOPPING -> STOPPED).</summary>
    private readonly List<IActorRef> _flushWaiters = [];

    /// <summary>The host is stopping: answer <see cref="AllStopped"/> once the journal holds every transition, or
    /// after <see cref="FlushWait"/> (a journal whose database is away cannot).</summary>
    public sealed class Flush
    {
        public static readonly Flush Instance = new();
        private Flush() { }
    }

    private sealed class FlushElapsed : INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly FlushElapsed Instance = new();
        private FlushElapsed() { }
    }

    internal static readonly TimeSpan FlushWait = TimeSpan.FromSeconds(3);

    public ProgramHistoryActor(string program, bool durable, ProgramSettings settings, Func<Exception, bool> isExpected, string? group = null,
        Func<Exception, string>? describe = null)
    {
        _isExpected = isExpected;
        _describe = describe;
        _group = group;
        _groupAnswered = group is null;
        _program = program;
        _durable = durable;
        _settings = settings;

        Receive<ProgramTransition>(transition =>
        {
            _history.Add(transition);
            if (_history.Count > HistoryKept) _history.RemoveAt(0);
            Journal(transition);
        });
        Receive<OperatorIntent>(intent =>
        {
            if (intent.Stopped == _lastIntent) return; // the journal already says so
            _lastIntent = intent.Stopped;
            Journal(intent);
        });
        Receive<GetEvents>(_ => Sender.Tell(new EventsReport(_history.ToList())));

        Receive<Recovered>(OnRecovered);
        Receive<Persisted>(persisted =>
        {
            _outbox.RemoveAll(e => e.Id == persisted.Id);
            if (_outbox.Count == 0) Flushed();
        });
        Receive<Flush>(_ =>
        {
            _flushWaiters.Add(Sender);
            // A journal restarting (its database away a moment) gets FlushWait to come back and take the outbox.
            if (!_durable || _outbox.Count == 0) Flushed();
            else Timers.StartSingleTimer(nameof(FlushElapsed), FlushElapsed.Instance, FlushWait);
        });
        Receive<FlushElapsed>(_ => Flushed());
        Receive<GroupRecovered>(recovered =>
        {
            _groupAnswered = true;
            _groupIntent = recovered.Intent;
            if (_ownRecovered is { } own && !_booted) OnRecovered(own);
        });
        // The group's journal could not be read: the process boots from its own.
        Receive<Unavailable>(_ => Sender.Path.Name == GroupJournalName, _ =>
        {
            _groupAnswered = true; // then the process boots from its own intent
            if (_ownRecovered is { } own && !_booted) OnRecovered(own);
        });
        Receive<Unavailable>(unavailable =>
        {
            _journalReady = false;
            // The journal has logged why (once: its retries meet the same cause).
            BootWithoutJournal("the journal is unavailable");
        });
        Receive<JournalWaitElapsed>(_ => BootWithoutJournal($"the journal did not answer within {JournalWait.TotalSeconds:0}s"));
    }

    protected override void PreStart()
    {
        if (!_durable)
        {
            Boot(operatorStopped: null);
            return;
        }
        // The journal restarts with backoff whenever the database refuses it; what is sent to it meanwhile is
        // lost, which the outbox makes up for.
        _journal = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(ProgramJournalActor.Props(_program, Self, _isExpected, _describe), "journal",
            _settings.MinBackoff, _settings.MaxBackoff, _settings.RandomFactor, maxNrOfRetries: -1)), "journal-supervisor");
        if (_group is not null) Context.ActorOf(GroupIntentJournalActor.Props(_group, Self, toRecord: null), GroupJournalName);
        Timers.StartSingleTimer(nameof(JournalWaitElapsed), JournalWaitElapsed.Instance, JournalWait);
    }

    private void Flushed()
    {
        foreach (var waiter in _flushWaiters) waiter.Tell(AllStopped.Instance);
        _flushWaiters.Clear();
        Timers.Cancel(nameof(FlushElapsed));
    }

    private void Journal(IProgramJournalEvent e)
    {
        if (!_durable) return;
        _outbox.Add(e);
        if (_journalReady) _journal?.Tell(e);
    }

    private void OnRecovered(Recovered recovered)
    {
        if (!_booted && !_groupAnswered)
        {
            _ownRecovered = recovered; // booted once the group's journal has answered too
            return;
        }
        var known = _history.Select(t => t.Id).ToHashSet();
        _history.InsertRange(0, recovered.History.Where(t => !known.Contains(t.Id)));
        if (_history.Count > HistoryKept) _history.RemoveRange(0, _history.Count - HistoryKept);
        _lastIntent ??= recovered.OperatorStopped;
        _journalReady = true;
        foreach (var e in _outbox) _journal?.Tell(e);

        if (!_booted)
        {
            Timers.Cancel(nameof(JournalWaitElapsed));
            Boot(Newest(recovered.OperatorStopped, recovered.IntentAt, _groupIntent));
        }
        else if (_intentUnknown)
        {
            _intentUnknown = false;
            Context.Parent.Tell(new ProgramInput.Remembered(recovered.OperatorStopped));
        }
    }

    /// <summary>
    /// Without the journal the operator's last intent is unknown: boot from the configuration (the database the
    /// journal shares is likely down, and the program's start check will say so); the intent follows.
    /// </summary>
    private void BootWithoutJournal(string why)
    {
        if (_booted) return;
        Timers.Cancel(nameof(JournalWaitElapsed));
        _log.Warning("{0}: {1}; starting from the configuration, the operator's last intent is applied when it answers", _program, why);
        _intentUnknown = true;
        Boot(operatorStopped: null);
    }

    /// <summary>The newer of the process's own remembered intent and its group's (an intent without a time is the oldest).</summary>
    public static bool? Newest(bool? own, DateTimeOffset? ownAt, OperatorIntent? group) =>
        group is not null && (own is null || ownAt is null || group.At > ownAt) ? group.Stopped : own;

    private void Boot(bool? operatorStopped)
    {
        _booted = true;
        Context.Parent.Tell(new ProgramInput.Boot(operatorStopped));
    }

    /// <param name="group">Clustered: the program, whose group's journaled intent the boot reads too.</param>
    /// <param name="describe">A journal failure in an operator's words (<see cref="ProgramFailures.Describe"/>).</param>
    public static Props Props(string program, bool durable, ProgramSettings settings, Func<Exception, bool> isExpected, string? group = null,
        Func<Exception, string>? describe = null) =>
        Akka.Actor.Props.Create(() => new ProgramHistoryActor(program, durable, settings, isExpected, group, describe));
}
