using Akka;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;

namespace Crm.Actors.Hosting;

public static class CrmHostingExtensions
{
    /// <summary>
    /// The root supervisor, registered as <see cref="RootSupervisor"/>, running the given programs. With
    /// <paramref name="durable"/> their history and operator intent go to the Akka.Persistence journal.
    /// On shutdown (SIGTERM, docker stop) every program is stopped gracefully before the actor system ends.
    /// </summary>
    /// <param name="reloader">Reads this node's configuration again, for <c>crmctl update</c> (none: update says so).</param>
    public static AkkaConfigurationBuilder WithRootSupervisor(this AkkaConfigurationBuilder builder, IReadOnlyList<ProgramDefinition> programs, bool durable,
        IProgramReloader? reloader = null)
    {
        var stopTimeout = ShutdownTimeout(programs);
        ProgramMetrics.Declare(programs.Select(p => p.Name));
        return builder
            .AddHocon(ConfigurationFactory.ParseString(
                $"akka.coordinated-shutdown.phases.service-requests-done.timeout = {(int)stopTimeout.TotalMilliseconds}ms"), HoconAddMode.Prepend)
            .WithActors((system, registry) =>
            {
                var root = system.ActorOf(RootSupervisor.Props(programs, durable, reloader), RootSupervisor.ActorName);
                registry.Register<RootSupervisor>(root);
                CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "stop-programs", async () =>
                {
                    await root.Ask<SupervisorMessages.AllStopped>(SupervisorMessages.ShutdownAll.Instance, stopTimeout);
                    return Done.Instance;
                });
            });
    }

    /// <summary>
    /// Long enough for every priority's slowest stopwaitsecs, one priority after the other (RootSupervisor stops them
    /// in descending priority), plus the time to say so.
    /// </summary>
    public static TimeSpan ShutdownTimeout(IReadOnlyList<ProgramDefinition> programs) =>
        programs.GroupBy(p => p.Priority).Select(level => level.Max(p => p.Settings.StopWaitSecs)).Aggregate(TimeSpan.Zero, (sum, wait) => sum + wait)
        + TimeSpan.FromSeconds(5);

    /// <summary>
    /// The supervisor's journal and its snapshots, in the service's database (the CRM's). Their circuit breakers
    /// close again after 5 s (Akka's defaults: 30 s and 60 s): a journal restarted with backoff while its database
    /// is away trips them, and once it is back a replay must not wait a minute more (SPEC §3: back within 30 s).
    /// </summary>
    public static AkkaConfigurationBuilder WithCrmJournal(this AkkaConfigurationBuilder builder, DatabaseTarget target) =>
        builder.WithSqlPersistence(target.JournalOptions(), target.SnapshotOptions())
            .AddHocon(JournalBreakers, HoconAddMode.Prepend);

    private static readonly Config JournalBreakers = ConfigurationFactory.ParseString("""
        akka.persistence.journal.sql.circuit-breaker.reset-timeout = 5s
        akka.persistence.snapshot-store.sql.circuit-breaker { max-failures = 10, reset-timeout = 5s }
        """);
}
