using Akka.Hosting;
using Crm.Actors.Supervision;

namespace Crm.Actors.Hosting;

public static class CrmHostingExtensions
{
    /// <summary>The root supervisor, registered as <see cref="RootSupervisor"/>, running the given programs.</summary>
    public static AkkaConfigurationBuilder WithRootSupervisor(this AkkaConfigurationBuilder builder, IReadOnlyList<ProgramDefinition> programs) =>
        builder.WithActors((system, registry) =>
            registry.Register<RootSupervisor>(system.ActorOf(RootSupervisor.Props(programs), "supervisor")));
}
