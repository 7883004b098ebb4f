using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Supervision;
using Crm.Host.Admin;
using Microsoft.Extensions.DependencyInjection;
using Serilog;

namespace Crm.Host.Programs.ReminderWorker;

/// <summary>
/// reminder_worker's <c>--once</c>: one whole scan, as cron would run the old worker. The program may be starting,
/// or restarting after a cut connection, when the request arrives: then it is refused (ScanFailed) or lost with the
/// actor that died holding it (a dead letter). Either way it is asked again, until the scan completes, the program
/// is FATAL, or once-timeout ends. Exit 1 when rows were refused: a cron job must not look green while reminders
/// were lost to bad rows.
/// </summary>
public static class ReminderOnce
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public static async Task<int> RunAsync(IServiceProvider services, CancellationToken cancel)
    {
        var log = Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Crm.Host");
        var settings = services.GetRequiredService<ConfigurationState>().Current;
        var root = await services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync(cancel);
        var answer = await ScanAsync(services.GetRequiredService<ActorSystem>(), root, settings.OnceTimeout);
        if (answer is ReminderScanMessages.ScanCompleted done)
        {
            var outcome = done.Report.Outcome;
            log.Information("Once: {Written} notifications written, {Skipped} rows skipped, {NotDue} no longer due, {Held} held by another transaction",
                outcome.Written, outcome.Skipped, outcome.NotDue, outcome.Held);
            if (outcome.Skipped == 0) return 0;
            log.Error("Once: {Skipped} due reminders were not written: their rows were refused (see crm_actors.skipped_occurrences)", outcome.Skipped);
            return 1;
        }
        log.Error("Once: the scan did not complete: {Answer}", answer);
        return 1;
    }

    public static async Task<object> ScanAsync(ActorSystem system, IActorRef root, TimeSpan timeout)
    {
        const string program = ReminderWorkerActor.ProgramName;
        var deadline = DateTimeOffset.UtcNow + timeout;
        object answer = new ReminderScanMessages.ScanFailed("once", "no answer");
        while (DateTimeOffset.UtcNow < deadline)
        {
            var request = new ReminderScanMessages.RunScan("once");
            var lost = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
            var watch = system.ActorOf(Props.Create(() => new DeadLetterWatch(request, lost)));
            try
            {
                var asked = root.Ask<object>(new SupervisorMessages.ToProgram(program, request), deadline - DateTimeOffset.UtcNow);
                answer = await await Task.WhenAny(asked, lost.Task);
            }
            catch (AskTimeoutException)
            {
                return new ReminderScanMessages.ScanFailed("once", $"no answer within {timeout}");
            }
            finally
            {
                system.Stop(watch);
            }
            if (answer is ReminderScanMessages.ScanCompleted) return answer;
            var status = await root.Ask<SupervisorMessages.StatusReport>(new SupervisorMessages.GetStatus(program), AdminAsk.Timeout);
            if (status.Programs is [{ State: ProgramState.Fatal }]) return answer;
            await Task.Delay(RetryDelay);
        }
        return answer;
    }

    /// <summary>Completes when <paramref name="request"/> ends in dead letters: nobody will answer it.</summary>
    private sealed class DeadLetterWatch : ReceiveActor
    {
        public DeadLetterWatch(ReminderScanMessages.RunScan request, TaskCompletionSource<object> lost)
        {
            Receive<DeadLetter>(dead =>
            {
                if (ReferenceEquals(dead.Message, request))
                    lost.TrySetResult(new ReminderScanMessages.ScanFailed(request.Trigger, "the request was lost with a program that stopped"));
            });
        }

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

        protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
    }
}
