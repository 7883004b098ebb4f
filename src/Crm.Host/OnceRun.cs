using Akka.Actor;
using Akka.Event;
using Crm.Actors.Reminders;
using Crm.Actors.Supervision;

namespace Crm.Host;

/// <summary>
/// <c>--once</c>'s request for one whole scan. The program may be starting, or restarting after a cut connection,
/// when the request arrives: then it is refused (ScanFailed) or lost with the actor that died holding it (a dead
/// letter). Either way it is asked again, until the scan completes, the program is FATAL, or once-timeout ends.
/// </summary>
public static class OnceRun
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(1);

    public static async Task<object> ScanAsync(ActorSystem system, IActorRef root, string program, TimeSpan timeout)
    {
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
            var status = await root.Ask<SupervisorMessages.StatusReport>(new SupervisorMessages.GetStatus(program), Admin.AdminAsk.Timeout);
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
