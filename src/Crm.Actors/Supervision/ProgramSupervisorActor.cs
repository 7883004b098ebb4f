using Akka.Actor;
using Akka.Event;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// Runs one program under supervisord's rules: it feeds <see cref="ProgramStateMachine"/> its inputs (operator
/// commands, the program's news, the machine's own timers, the journal's boot) and carries out its effects. The
/// program is a child stopped on any failure it escalates: its death is the "exit" the machine sees. Each transition
/// is logged here; the history and the journal are <see cref="ProgramHistoryActor"/>'s.
/// </summary>
public sealed class ProgramSupervisorActor : ReceiveActor, IWithTimers
{
    private const string WorkerName = "worker";

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly string _name;
    private readonly bool _durable;
    private readonly TimeProvider _clock;
    private readonly Random _random = new();

    private ProgramDefinition _definition;
    private ProgramStatus _status;
    private IActorRef _history = ActorRefs.Nobody;
    private IActorRef? _program;
    /// <summary>Why the program is ending, as the machine will hear it once it has.</summary>
    private ProgramInput.Failed? _failure;
    /// <summary>The last failure logged since the program last ran: a retry that fails alike is not news.</summary>
    private string? _lastLoggedFailure;

    public ITimerScheduler Timers { get; set; } = null!;

    public ProgramSupervisorActor(ProgramDefinition definition, bool durable, TimeProvider clock)
    {
        _name = definition.Name;
        _definition = definition;
        _durable = durable;
        _clock = clock;
        _status = ProgramStatus.Initial(clock.GetUtcNow());

        // A group's start or stop reaches every process; supervisord's startProcessGroup starts only those not
        // running (STOPPED, EXITED, FATAL), its stopProcessGroup stops only those running (STARTING, RUNNING, BACKOFF).
        Receive<StartProgram>(m => m.InGroup && _status.State is not (ProgramState.Stopped or ProgramState.Exited or ProgramState.Fatal),
            _ => Sender.Tell(new CommandResult(_definition.Process, [])));
        Receive<StopProgram>(m => m.InGroup && !_status.IsUp, _ => Sender.Tell(new CommandResult(_definition.Process, [])));
        Receive<SignalProgram>(Signal);
        Receive<StartProgram>(_ => Feed(new ProgramInput.Start("started by operator", Sender)));
        Receive<StopProgram>(_ => Feed(new ProgramInput.Stop("stopped by operator", Sender)));
        Receive<RestartProgram>(_ => Feed(new ProgramInput.Restart(Sender)));
        Receive<UpdateProgram>(update => Feed(new ProgramInput.Update(update.Definition, Sender)));
        Receive<ShutdownAll>(_ => Feed(new ProgramInput.Shutdown(Sender)));
        Receive<ProgramInput.Ready>(_ => Sender.Equals(_program), Feed);
        Receive<ProgramInput.Ready>(_ => { }); // from a program that is already gone
        Receive<ProgramInput.Spawned>(_ => Sender.Equals(_program), Feed);
        Receive<ProgramInput.Spawned>(_ => { });
        Receive<ProgramInput>(Feed); // the machine's timers, the journal's boot
        Receive<Terminated>(t => t.ActorRef.Equals(_program), _ =>
        {
            _program = null;
            Feed(_status.State == ProgramState.Stopping ? ProgramInput.Stopped.Instance : _failure ?? new ProgramInput.Failed("stopped on its own"));
            _failure = null;
        });

        Receive<GetStatus>(_ => Sender.Tell(new ProgramInfo(_name, _status.State, _status.Since, _status.FailedStarts, _status.LastError, _status.EverStarted,
            _definition.Clustered ? _definition.Node : null, _status.Pid ?? Environment.ProcessId) { SpawnedAt = _status.SpawnedAt }));
        Receive<GetEvents>(events => _history.Forward(events));
        Receive<ToProgram>(envelope =>
        {
            if (_program is not null) _program.Forward(envelope.Message);
            else if (envelope.Message is IProgramRequest request)
                Sender.Tell(request.Unavailable($"{_name} is {_status.State.Name()}"));
        });
    }

    protected override void PreStart() =>
        _history = Context.ActorOf(ProgramHistoryActor.Props(_definition.JournalKey, _durable, _definition.Settings, _definition.Failures.IsExpected,
            _definition.Clustered ? _name : null), "history");

    /// <summary>A failure the program escalates stops it: its Terminated is the "exit" the machine sees.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, error =>
    {
        var message = error.InnerException is { } inner && error is ActorInitializationException ? inner.Message : error.Message;
        _failure = new ProgramInput.Failed(message, _definition.Failures.IsOutage(error), _definition.Failures.IsExpectedExit(error));
        // Expected failures (the database away, refusing, not ready) get one line, once; stack traces are for bugs.
        if (!_definition.Failures.IsExpected(error)) _log.Error(error, "{0} failed: {1}", _name, message);
        else if (message != _lastLoggedFailure) _log.Warning("{0} failed: {1}", _name, message);
        else _log.Debug("{0} failed again: {1}", _name, message);
        _lastLoggedFailure = message;
        return Directive.Stop;
    }, loggingEnabled: false);

    /// <summary>Applies one input: the transition, its record, its effects, and any follow-up input.</summary>
    /// <summary>supervisorctl's signal: to the process while it is up (supervisord's RUNNING_STATES), and has one.</summary>
    private void Signal(SignalProgram m)
    {
        CommandOutcome[] outcome =
            !_status.IsUp || _status.Pid is null ? (m.InGroup ? [] : [CommandOutcome.Error(CommandOutcome.NotRunning)])
            : _definition.Signal is not { } signal ? [CommandOutcome.Error(CommandOutcome.NotAProcess)]
            : signal(_status.Pid.Value, m.Signal) is { } error ? [CommandOutcome.Error(error)]
            : [CommandOutcome.Signalled];
        Sender.Tell(new CommandResult(_definition.Process, outcome));
    }

    private void Feed(ProgramInput input)
    {
        var transition = ProgramStateMachine.Apply(_status, input, _definition.Settings, _clock.GetUtcNow(), _random.NextDouble());
        var from = _status.State;
        _status = transition.Next;
        if (from != _status.State) Recorded(from, transition.Description);
        foreach (var effect in transition.Effects) Run(effect);
        if (transition.FollowUp is { } next) Feed(next);
    }

    /// <summary>A transition's log line, metric and event, at once (a host shutdown waits for nothing else); then its history.</summary>
    private void Recorded(ProgramState from, string description)
    {
        var transition = new ProgramTransition(Guid.NewGuid(), _status.Since, _name, from, _status.State, description,
            _definition.Clustered ? _definition.Node : null);
        _log.Log(ProgramStateMachine.LogLevelOf(_status), null, "{0}", $"{_definition.Process} {from.Name()} -> {_status.State.Name()}: {description}");
        ProgramMetrics.Entered(_name, from, _status.State);
        if (_status.State == ProgramState.Running) _lastLoggedFailure = null;
        Context.System.EventStream.Publish(transition);
        _history.Tell(transition);
    }

    private void Run(ProgramEffect effect)
    {
        switch (effect)
        {
            case ProgramEffect.Spawn:
                _program = Context.Watch(Context.ActorOf(_definition.Props, WorkerName));
                break;
            case ProgramEffect.StopProgram:
                _program?.Tell(ProgramMessages.GracefulStop.Instance);
                break;
            case ProgramEffect.Kill kill when _program is not null:
                if (_status.State == ProgramState.Stopping) _log.Warning("{0} {1}", _name, kill.Reason);
                else _failure = new ProgramInput.Failed(kill.Reason);
                Context.Stop(_program);
                break;
            case ProgramEffect.Schedule schedule:
                Timers.StartSingleTimer(schedule.Timer.GetType(), schedule.Timer, schedule.Delay);
                break;
            case ProgramEffect.Cancel cancel:
                Timers.Cancel(cancel.Timer.GetType());
                break;
            case ProgramEffect.Reconfigure reconfigure:
                _definition = reconfigure.Definition;
                break;
            case ProgramEffect.RecordIntent intent:
                _history.Tell(new OperatorIntent(Guid.NewGuid(), _clock.GetUtcNow(), intent.Stopped));
                break;
            case ProgramEffect.Answer answer:
                ((IActorRef)answer.ReplyTo).Tell(new CommandResult(_definition.Process, answer.Outcomes));
                break;
            case ProgramEffect.AnswerDown down:
                // Answered once the journal holds the last transition, so that the next start's history shows it.
                _history.Tell(ProgramHistoryActor.Flush.Instance, (IActorRef)down.ReplyTo);
                break;
            case ProgramEffect.Note note:
                _log.Info("{0} {1}", _name, note.Text);
                break;
        }
    }

    public static Props Props(ProgramDefinition definition, bool durable, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ProgramSupervisorActor(definition, durable, clock ?? TimeProvider.System));
}
