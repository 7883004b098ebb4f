using Akka.Actor;
using Crm.Actors.Supervision;

namespace Crm.Tests.Support;

public static class RootStatus
{
    /// <summary>The one process <paramref name="name"/> names, as the root's status report gives it.</summary>
    public static async Task<ProgramInfo> StatusOfAsync(this IActorRef root, string name, TimeSpan wait) =>
        (await root.Ask<SupervisorMessages.StatusReport>(new SupervisorMessages.GetStatus(name), wait)).Programs.Single();
}
