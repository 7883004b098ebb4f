using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Crm.Actors.Configuration;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// The <c>reminder_worker</c> program: scheduler, scan and writer. It has started when its database answers and
/// carries the migration; then it creates its children and tells its supervisor it is ready. Until then requests
/// are stashed, and a failed check fails the program (a failed start).
///
/// Inside the program, scan and writer each sit under a backoff supervisor: a transient database error restarts
/// the failing actor after a growing delay while the program stays up. When that budget is spent, or on any
/// other error, the program fails and its supervisor takes over (EXITED, then autorestart).
/// </summary>
public sealed class ReminderWorkerActor : ReceiveActor, IWithStash
{
    public const string ProgramName = "reminder_worker";
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReminderStore _store;
    private readonly ReminderSettings _settings;
    private readonly bool _periodic;
    /// <summary>The start check, given up when the program stops first (its supervisor bounds it by start-timeout).</summary>
    private readonly CancellationTokenSource _starting = new();

    public IStash Stash { get; set; } = null!;

    public ReminderWorkerActor(IReminderStore store, ReminderSettings settings, bool periodic)
    {
        _store = store;
        _settings = settings;
        _periodic = periodic;
        Starting();
    }

    private sealed record Verified;

    private sealed record VerificationFailed(Exception Cause) : INoSerializationVerificationNeeded, IDeadLetterSuppression; // local: the exception as thrown; arriving after a stop, it is no news

    protected override void PreStart()
    {
        _store.VerifyAsync(_settings.Template, _starting.Token)
            .PipeTo(Self, success: () => new Verified(), failure: e => new VerificationFailed(e));
    }

    protected override void PostStop() => _starting.Cancel();

    private void Starting()
    {
        Receive<Verified>(_ =>
        {
            var writers = Enumerable.Range(1, _settings.Writers)
                .Select(n => Supervised(NotificationWriterActor.Props(_store, _settings.Template), $"writer-{n}",
                    NotificationWriterMessages.WriterRestarting.Instance))
                .ToList();
            var scan = Supervised(ReminderScanActor.Props(_store, writers, _settings), "scan",
                new ScanFailed("restarting", "the scan is restarting after a database error"));
            var scheduler = _periodic ? Context.ActorOf(SchedulerActor.Props(scan, _store, _settings), "scheduler") : null;
            if (scheduler is not null && _store is IReminderChangeFeed feed)
                Context.ActorOf(ReminderListenerActor.Props(feed, scheduler, _settings.MinBackoff, _settings.MaxBackoff), "listener");
            _log.Info("{0} is up on {1}", ProgramName, _store.Description);
            Context.Parent.Tell(ProgramInput.Ready.Instance);
            Become(() => Running(scan, scheduler));
            Stash.UnstashAll();
        });
        Receive<VerificationFailed>(failed =>
        {
            var reason = $"{ProgramName} could not start: {failed.Cause.Message}";
            // Requests waiting for the start hear that it failed (a --once run then tries again), not silence.
            foreach (var waiting in Stash.ClearStash().Where(e => e.Message is RunScan))
                waiting.Sender.Tell(new ScanFailed(((RunScan)waiting.Message).Trigger, reason));
            throw new ProgramStartException(reason, failed.Cause);
        });
        Receive<ProgramMessages.GracefulStop>(_ => Context.Stop(Self));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Running(IActorRef scan, IActorRef? scheduler)
    {
        var draining = false;
        Receive<RunScan>(request => scan.Forward(request));
        Receive<ProgramMessages.GracefulStop>(_ =>
        {
            // No new scan; the one in flight ends after its current batch, then the program stops.
            if (scheduler is not null) Context.Stop(scheduler);
            draining = true;
            scan.Tell(Drain.Instance);
        });
        Receive<Drained>(_ => Context.Stop(Self));
        // While the scan waits to restart after a database error, its supervisor answers for it: nothing is in
        // flight, so the program stops now rather than after stopwaitsecs.
        Receive<ScanFailed>(_ => draining && Sender.Equals(scan), _ => Context.Stop(Self));
        Receive<Terminated>(t => throw new ReminderPipelineException(
            $"{t.ActorRef.Path.Name} gave up after {_settings.TransientRetries} restarts on transient database errors",
            new TimeoutException("transient failures budget spent")));
    }

    /// <summary>What the backoff supervisors escalate (not transient, or budget spent) fails the whole program.</summary>
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Escalate, loggingEnabled: false);

    /// <summary>
    /// Restarts on transient database errors, with backoff, up to the budget; escalates anything else. While the
    /// child waits to restart, a request to it is answered with <paramref name="whileRestarting"/>, not lost.
    /// </summary>
    private IActorRef Supervised(Props props, string name, object whileRestarting)
    {
        // The budget: TransientRetries restarts within two intervals; one more and the backoff supervisor stops.
        // Akka's own failure log is off: it would print a stack trace for each expected database error. The
        // program supervisor logs what is escalated; a transient error gets one line here.
        var strategy = new OneForOneStrategy(_settings.TransientRetries, (int)(_settings.Interval * 2).TotalMilliseconds, error =>
        {
            if (!StoreErrors.IsTransient(error.InnerException ?? error)) return Directive.Escalate;
            _log.Warning("{0} failed on a transient database error, restarting it with backoff: {1}", name, error.Message);
            return Directive.Restart;
        }, loggingEnabled: false);
        // The limit that counts is the strategy's (with its window): WithSupervisorStrategy replaces OnFailure's.
        var options = Backoff.OnFailure(props, name, _settings.MinBackoff, _settings.MaxBackoff, 0.2, _settings.TransientRetries)
            .WithSupervisorStrategy(strategy)
            // Without this the count resets once the restarted child has lived min-backoff: the budget would never be spent.
            .WithAutoReset(_settings.Interval * 2)
            .WithReplyWhileStopped(whileRestarting);
        return Context.Watch(Context.ActorOf(BackoffSupervisor.Props(options), $"{name}-supervisor"));
    }

    public static Props Props(IReminderStore store, ReminderSettings settings, bool periodic = true) =>
        Akka.Actor.Props.Create(() => new ReminderWorkerActor(store, settings, periodic));

    /// <summary>This program as the root supervisor runs it.</summary>
    public static ProgramDefinition Program(IReminderStore store, ReminderSettings settings, ProgramSettings supervision, bool periodic = true) =>
        new(ProgramName, Props(store, settings, periodic), supervision) { Failures = Failures with { Describe = store.DescribeFailure }, Options = settings };

    /// <summary>The database away is an outage; the database refusing or not ready, a setting, one line each.</summary>
    public static ProgramFailures Failures { get; } = new(StoreErrors.IsOutage, StoreErrors.IsExpected);
}

public static class ReminderWorkerRegistration
{
    /// <summary>
    /// The reminder_worker among the host's programs, on <paramref name="store"/>: its settings are
    /// <c>crm.reminders</c> (<c>crm.demo.interval</c> with --demo); with --once it runs one pass, no scheduler.
    /// Its series are created with it, so that /metrics exports them from the start.
    /// </summary>
    public static ProgramRegistration Registration(IReminderStore store)
    {
        _ = ReminderMetrics.Process;
        return new ProgramRegistration(ReminderWorkerActor.ProgramName, context =>
        {
            var settings = ReminderSettings.Read(context.Config, context.Supervision, context.Demo);
            // --once is asked for explicitly: it runs even where the service would not autostart the program.
            var supervision = context.Once ? context.Supervision with { AutoStart = true } : context.Supervision;
            return ReminderWorkerActor.Program(store, settings, supervision, periodic: !context.Once);
        });
    }

    public static ProgramCatalog AddReminderWorker(this ProgramCatalog programs, IReminderStore store) => programs.Add(Registration(store));
}

/// <summary>A program could not start: its database did not answer or is not ready.</summary>
public sealed class ProgramStartException(string message, Exception inner) : Exception(message, inner);
