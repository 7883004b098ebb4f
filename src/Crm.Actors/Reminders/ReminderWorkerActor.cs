using Akka.Actor;
using Akka.Event;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// The <c>reminder_worker</c> program: the subtree of scheduler, scan and writer. It has started when its
/// database answers and carries the migration; only then are the children created. Requests that arrive
/// before are stashed. Transient database errors of a child restart that child; anything else fails the program.
/// </summary>
public sealed class ReminderWorkerActor : ReceiveActor, IWithStash
{
    public const string ProgramName = "reminder_worker";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReminderStore _store;
    private readonly ReminderSettings _settings;
    private readonly bool _periodic;

    public IStash Stash { get; set; } = null!;

    public ReminderWorkerActor(IReminderStore store, ReminderSettings settings, bool periodic)
    {
        _store = store;
        _settings = settings;
        _periodic = periodic;
        Starting();
    }

    private sealed record Verified;

    private sealed record VerificationFailed(Exception Cause);

    protected override void PreStart()
    {
        _store.VerifyAsync(_settings.Template)
            .PipeTo(Self, success: () => new Verified(), failure: e => new VerificationFailed(e));
    }

    private void Starting()
    {
        Receive<Verified>(_ =>
        {
            var writer = Context.ActorOf(NotificationWriterActor.Props(_store, _settings.Template), "writer");
            var scan = Context.ActorOf(ReminderScanActor.Props(_store, writer, _settings), "scan");
            if (_periodic)
                Context.ActorOf(SchedulerActor.Props(scan, _settings.Interval), "scheduler");
            _log.Info("reminder_worker started on {0}", _store.Description);
            Become(() => Running(scan));
            Stash.UnstashAll();
        });
        Receive<VerificationFailed>(failed =>
            throw new ProgramStartException($"{ProgramName} could not start: {failed.Cause.Message}", failed.Cause));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running(IActorRef scan)
    {
        Receive<RunScan>(request => scan.Forward(request));
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 10,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: error => StoreErrors.IsTransient(error.InnerException ?? error)
            ? Directive.Restart
            : Directive.Escalate);

    public static Props Props(IReminderStore store, ReminderSettings settings, bool periodic = true) =>
        Akka.Actor.Props.Create(() => new ReminderWorkerActor(store, settings, periodic));

    /// <summary>This program as the root supervisor runs it.</summary>
    public static ProgramDefinition Program(IReminderStore store, ReminderSettings settings, bool periodic = true) =>
        new(ProgramName, Props(store, settings, periodic));
}

/// <summary>A program could not start: its database did not answer or is not ready.</summary>
public sealed class ProgramStartException(string message, Exception inner) : Exception(message, inner);
