using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>How to run one program: its name, its actors, its supervision settings.</summary>
public sealed record ProgramDefinition(string Name, Props Props, ProgramSettings Settings);

/// <summary>
/// Runs one program under supervisord's rules. The decisions are <see cref="ProgramStateMachine"/>'s; this actor
/// turns them into Akka: the program is a child stopped on any failure it escalates (its death is the "exit"),
/// timers drive startsecs, backoff, stopwaitsecs and fatal-retry-after, and every transition goes to the journal.
/// The journal may be down (it shares the reminders' database): then the machine goes on in memory and an outbox
/// keeps what the journal has not confirmed, sent again each time the journal recovers.
/// </summary>
public sealed class ProgramSupervisorActor : ReceiveActor, IWithTimers
{
    private const string WorkerName = "worker";
    // A journal that answers late is waited for: starting without it would forget an operator's stop. This bound
    // is for one that neither answers nor fails; a journal whose database refuses says so at once (Unavailable).
    private static readonly TimeSpan JournalWait = TimeSpan.FromSeconds(60);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _name;
    private readonly bool _durable;
    private readonly TimeProvider _clock;
    private readonly Random _random = new();

    private Props _programProps;
    private ProgramSettings _settings;
    private ProgramDefinition? _pendingDefinition;
    private bool _everStarted;

    private readonly List<ProgramTransition> _history = [];
    private readonly List<IProgramJournalEvent> _outbox = [];
    /// <summary>Requesters answered when the state settles: supervisorctl's start waits for RUNNING, say.</summary>
    private readonly List<(IActorRef ReplyTo, Func<ProgramStatus, object?> Answer)> _waiting = [];
    private IActorRef? _journal;
    /// <summary>
    /// The journal has replayed and not failed since. Only then are events sent to it as they happen: one that
    /// is still replaying would persist them before the outbox's older ones, out of order.
    /// </summary>
    private bool _journalReady;
    private IActorRef? _program;
    private bool _booted;
    private bool _intentUnknown;
    private bool _restartPending;
    private string? _lastFailure;
    private bool _lastFailureOutage;
    /// <summary>The last failure logged since the program last ran: a retry that fails alike is not news.</summary>
    private string? _lastLoggedFailure;
    private ProgramStatus _status;

    public ITimerScheduler Timers { get; set; } = null!;

    public ProgramSupervisorActor(ProgramDefinition definition, bool durable, TimeProvider clock)
    {
        _name = definition.Name;
        _programProps = definition.Props;
        _settings = definition.Settings;
        _durable = durable;
        _clock = clock;
        _status = ProgramStatus.Initial(clock.GetUtcNow());

        Receive<ProgramJournalMessages.Recovered>(OnJournalRecovered);
        Receive<ProgramJournalMessages.Persisted>(p => _outbox.RemoveAll(e => e.Id == p.Id));
        Receive<ProgramJournalMessages.Unavailable>(unavailable =>
        {
            _journalReady = false;
            BootWithoutJournal($"the journal is unavailable ({unavailable.Reason})");
        });
        Receive<ProgramMessages.JournalWaitElapsed>(_ => BootWithoutJournal($"the journal did not answer within {JournalWait}"));

        Receive<StartProgram>(_ => Command(new ProgramInput.Start("started by operator"), intentStopped: false, AnswerOnceStarted("started")));
        Receive<StopProgram>(_ => Command(new ProgramInput.Stop("stopped by operator"), intentStopped: true,
            status => status.State == ProgramState.Stopped ? new CommandResult(_name, true, "stopped") : (object?)null));
        Receive<RestartProgram>(_ => Restart());
        Receive<ShutdownAll>(_ =>
        {
            var replyTo = Sender;
            if (_status.State is ProgramState.Stopped or ProgramState.Exited or ProgramState.Fatal)
            {
                replyTo.Tell(AllStopped.Instance);
                return;
            }
            _waiting.Add((replyTo, s => s.State == ProgramState.Stopped ? AllStopped.Instance : null));
            Feed(new ProgramInput.Stop("host shutting down"));
        });
        Receive<GetStatus>(_ => Sender.Tell(new ProgramInfo(_name, _status.State, _status.Since, _status.FailedStarts, _status.LastError, _everStarted)));
        Receive<UpdateProgram>(update => Reconfigure(update.Definition));
        Receive<GetEvents>(_ => Sender.Tell(new EventsReport(_history.ToList())));
        Receive<ToProgram>(envelope =>
        {
            if (_program is not null) _program.Forward(envelope.Message);
            else if (envelope.Message is ReminderScanMessages.RunScan scan)
                Sender.Tell(new ReminderScanMessages.ScanFailed(scan.Trigger, $"{_name} is {_status.State.ToString().ToUpperInvariant()}"));
        });

        Receive<ProgramMessages.Ready>(_ => Sender.Equals(_program), _ => Feed(new ProgramInput.Ready()));
        Receive<ProgramMessages.StartSecsElapsed>(_ => Feed(new ProgramInput.StartSecsElapsed()));
        Receive<ProgramMessages.BackoffElapsed>(_ => Feed(new ProgramInput.BackoffElapsed()));
        Receive<ProgramMessages.FatalRetryElapsed>(_ => Feed(new ProgramInput.FatalRetryElapsed()));
        Receive<ProgramMessages.StopWaitElapsed>(_ =>
        {
            if (_program is null) return;
            _log.Warning("{0} did not stop within stopwaitsecs ({1}): stopping it now; its open transaction is rolled back",
                _name, _settings.StopWaitSecs);
            Context.Stop(_program);
        });
        Receive<Terminated>(t => t.ActorRef.Equals(_program), t =>
        {
            _program = null;
            Timers.Cancel(nameof(ProgramMessages.StopWaitElapsed));
            Feed(_status.State == ProgramState.Stopping
                ? new ProgramInput.Stopped()
                : new ProgramInput.Failed(_lastFailure ?? "stopped on its own", _lastFailureOutage));
            _lastFailure = null;
        });
    }

    protected override void PreStart()
    {
        if (!_durable)
        {
            Boot(operatorStopped: null);
            return;
        }
        // The journal restarts with backoff whenever the database refuses it; messages to it meanwhile are
        // dropped, which the outbox makes up for.
        _journal = Context.ActorOf(BackoffSupervisor.Props(Backoff.OnStop(
            ProgramJournalActor.Props(_name, Self), "journal", _settings.MinBackoff, _settings.MaxBackoff, _settings.RandomFactor, maxNrOfRetries: -1)),
            "journal-supervisor");
        Timers.StartSingleTimer(nameof(ProgramMessages.JournalWaitElapsed), ProgramMessages.JournalWaitElapsed.Instance, JournalWait);
    }

    /// <summary>A failure the program escalates stops it: its Terminated is the "exit" the machine sees.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, error =>
    {
        _lastFailure = error.InnerException is { } inner && error is ActorInitializationException ? inner.Message : error.Message;
        _lastFailureOutage = StoreErrors.IsOutage(error);
        // Expected failures (the database away, refusing, not ready) get one line, once; stack traces are for bugs.
        if (!StoreErrors.IsExpected(error)) _log.Error(error, "{0} failed: {1}", _name, _lastFailure);
        else if (_lastFailure != _lastLoggedFailure) _log.Warning("{0} failed: {1}", _name, _lastFailure);
        else _log.Debug("{0} failed again: {1}", _name, _lastFailure);
        _lastLoggedFailure = _lastFailure;
        return Directive.Stop;
    }, loggingEnabled: false);

    private void OnJournalRecovered(ProgramJournalMessages.Recovered recovered)
    {
        var known = _history.Select(t => t.Id).ToHashSet();
        var older = recovered.History.Where(t => !known.Contains(t.Id)).ToList();
        _history.InsertRange(0, older);
        _journalReady = true;
        foreach (var e in _outbox) _journal?.Tell(e);

        if (!_booted)
        {
            Timers.Cancel(nameof(ProgramMessages.JournalWaitElapsed));
            Boot(recovered.OperatorStopped);
        }
        else if (_intentUnknown)
        {
            _intentUnknown = false;
            if (recovered.OperatorStopped == true && _status.IsUp)
                Feed(new ProgramInput.Stop("stopped by operator (remembered once the journal answered)"));
        }
    }

    /// <summary>
    /// Without the journal the operator's last intent is unknown: start from the configuration (the database the
    /// journal shares is likely down, and the program's start check will say so), and apply the intent when the
    /// journal answers.
    /// </summary>
    private void BootWithoutJournal(string why)
    {
        if (_booted) return;
        Timers.Cancel(nameof(ProgramMessages.JournalWaitElapsed));
        _log.Warning("{0}: {1}; starting from the configuration, the operator's last intent is applied when it answers", _name, why);
        _intentUnknown = true;
        Boot(operatorStopped: null);
    }

    private void Boot(bool? operatorStopped)
    {
        _booted = true;
        if (operatorStopped == true)
            _log.Info("{0} stays STOPPED: an operator stopped it", _name);
        else if (_settings.AutoStart)
            Feed(new ProgramInput.Start("autostart"));
        else
            _log.Info("{0} stays STOPPED: autostart is off", _name);
    }

    private void Command(ProgramInput input, bool intentStopped, Func<ProgramStatus, object?> answer)
    {
        var replyTo = Sender;
        var refusal = Feed(input);
        if (refusal is not null)
        {
            replyTo.Tell(new CommandResult(_name, false, refusal.Reason));
            return;
        }
        Record(new OperatorIntent(Guid.NewGuid(), _clock.GetUtcNow(), intentStopped));
        if (answer(_status) is { } now) replyTo.Tell(now);
        else _waiting.Add((replyTo, answer));
    }

    /// <summary>supervisorctl's restart: stop if up, then start; answered once the start succeeds or fails.</summary>
    private void Restart()
    {
        var replyTo = Sender;
        _waiting.Add((replyTo, AnswerOnceStarted("started")));
        Record(new OperatorIntent(Guid.NewGuid(), _clock.GetUtcNow(), false));
        if (_status.State is ProgramState.Starting or ProgramState.Running)
        {
            _restartPending = true;
            Feed(new ProgramInput.Stop("restarted by operator"));
        }
        else if (_status.State != ProgramState.Stopping)
        {
            Feed(new ProgramInput.Start("restarted by operator"));
        }
        else
        {
            _restartPending = true;
        }
    }

    /// <summary>
    /// supervisorctl's start answers once the program is RUNNING (<paramref name="ok"/>) or has failed to start
    /// (spawn error); not while a stop-then-start is still on its stop half.
    /// </summary>
    private Func<ProgramStatus, object?> AnswerOnceStarted(string ok) => status => status.State switch
    {
        _ when _restartPending => null,
        ProgramState.Running => new CommandResult(_name, true, ok),
        ProgramState.Backoff or ProgramState.Fatal or ProgramState.Exited or ProgramState.Stopped =>
            new CommandResult(_name, false, $"spawn error: {status.LastError}"),
        _ => null,
    };

    /// <summary>supervisorctl's update for one program: stop it if up, take the new settings, start it again.</summary>
    private void Reconfigure(ProgramDefinition definition)
    {
        var replyTo = Sender;
        if (_status.State is ProgramState.Starting or ProgramState.Running)
        {
            _pendingDefinition = definition;
            _restartPending = true;
            _waiting.Add((replyTo, AnswerOnceStarted("updated process group")));
            Feed(new ProgramInput.Stop("configuration updated"));
            return;
        }
        if (_status.State == ProgramState.Stopping)
        {
            _pendingDefinition = definition;
        }
        else
        {
            (_programProps, _settings) = (definition.Props, definition.Settings);
        }
        replyTo.Tell(new CommandResult(_name, true, "updated process group"));
    }

    /// <summary>Applies one input: the transition, its effects, its record, and any follow-up input.</summary>
    private Refusal? Feed(ProgramInput input)
    {
        var result = ProgramStateMachine.Apply(_status, input, _settings, _clock.GetUtcNow(), _random.NextDouble());
        if (result.Refusal is { } refusal) return refusal;
        var transition = result.Transition!;
        var from = _status.State;
        _status = transition.Next;
        foreach (var effect in transition.Effects) Run(effect);
        if (from != _status.State) Recorded(from, transition.Description);

        if (_status.State == ProgramState.Stopped && _pendingDefinition is { } pending)
        {
            (_programProps, _settings) = (pending.Props, pending.Settings);
            _pendingDefinition = null;
        }
        if (_restartPending && _status.State == ProgramState.Stopped)
        {
            _restartPending = false;
            Feed(new ProgramInput.Start("restarted by operator"));
        }
        if (transition.FollowUp is { } next) Feed(next);
        AnswerWaiting();
        return null;
    }

    private void Run(ProgramEffect effect)
    {
        switch (effect)
        {
            case ProgramEffect.Spawn:
                _everStarted = true;
                _program = Context.Watch(Context.ActorOf(_programProps, WorkerName));
                Timers.StartSingleTimer(nameof(ProgramMessages.StartSecsElapsed), ProgramMessages.StartSecsElapsed.Instance, _settings.StartSecs);
                break;
            case ProgramEffect.StopProgram:
                Timers.Cancel(nameof(ProgramMessages.StartSecsElapsed));
                _program?.Tell(ProgramMessages.GracefulStop.Instance);
                Timers.StartSingleTimer(nameof(ProgramMessages.StopWaitElapsed), ProgramMessages.StopWaitElapsed.Instance, _settings.StopWaitSecs);
                break;
            case ProgramEffect.ScheduleRestart restart:
                Timers.StartSingleTimer(nameof(ProgramMessages.BackoffElapsed), ProgramMessages.BackoffElapsed.Instance, restart.Delay);
                break;
            case ProgramEffect.ScheduleFatalRetry retry:
                Timers.StartSingleTimer(nameof(ProgramMessages.FatalRetryElapsed), ProgramMessages.FatalRetryElapsed.Instance, retry.Delay);
                break;
            case ProgramEffect.CancelTimers:
                Timers.Cancel(nameof(ProgramMessages.BackoffElapsed));
                Timers.Cancel(nameof(ProgramMessages.FatalRetryElapsed));
                break;
        }
    }

    private void Recorded(ProgramState from, string description)
    {
        var transition = new ProgramTransition(Guid.NewGuid(), _status.Since, _name, from, _status.State, description);
        _history.Add(transition);
        if (_history.Count > ProgramJournalActor.HistoryKept) _history.RemoveAt(0);
        Context.System.EventStream.Publish(transition);
        CrmMetrics.SetProgramState(_name, _status.State);
        if (_status.State == ProgramState.Starting && from is ProgramState.Backoff or ProgramState.Exited or ProgramState.Fatal)
            CrmMetrics.ProgramRestarts.Add(1, new KeyValuePair<string, object?>("program", _name));
        var line = $"{_name} {from.ToString().ToUpperInvariant()} -> {_status.State.ToString().ToUpperInvariant()}: {description}";
        if (_status.State == ProgramState.Running) _lastLoggedFailure = null;
        // During an outage the retries go on quietly: its first BACKOFF is the news, the RUNNING after it the end.
        var quietRetry = _status.Outages > 1 || (_status.Outages == 1 && _status.State == ProgramState.Starting);
        switch (_status.State)
        {
            case var _ when quietRetry: _log.Debug(line); break;
            case ProgramState.Fatal: _log.Error(line); break;
            case ProgramState.Backoff or ProgramState.Exited: _log.Warning(line); break;
            default: _log.Info(line); break;
        }
        Record(transition);
    }

    private void Record(IProgramJournalEvent e)
    {
        if (!_durable) return;
        _outbox.Add(e);
        if (_journalReady) _journal?.Tell(e);
    }

    private void AnswerWaiting()
    {
        for (var i = _waiting.Count - 1; i >= 0; i--)
        {
            if (_waiting[i].Answer(_status) is not { } answer) continue;
            _waiting[i].ReplyTo.Tell(answer);
            _waiting.RemoveAt(i);
        }
    }

    public static Props Props(ProgramDefinition definition, bool durable, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ProgramSupervisorActor(definition, durable, clock ?? TimeProvider.System));
}
