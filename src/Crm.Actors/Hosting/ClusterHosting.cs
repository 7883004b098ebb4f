using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Crm.Actors.Configuration;

namespace Crm.Actors.Hosting;

/// <summary>
/// Akka.Cluster for the service (SPEC §8), when <c>crm.cluster.enabled</c>. Tuned for availability: the database
/// keeps every reminder exactly-once whoever runs the program, so a crashed node's programs must resume elsewhere
/// quickly (within 15 s), with 2 nodes as with 3, rather than wait for certainty.
/// </summary>
public static class ClusterHosting
{
    public const string Role = "crm";

    /// <summary>
    /// Failure detection and downing. A node is suspected after about 3 s of silence (heartbeats every second); the
    /// leader among the reachable nodes downs a node that stayed unreachable 3 s more, and its singletons start on
    /// the next oldest node. Auto-downing, on purpose: the split brain resolver's strategies were measured here and
    /// down the lone survivor of two (keep-oldest always, keep-majority half the time, static-quorum downs all once
    /// the cluster has grown past its quorum). In a true network partition both sides then run the program: the
    /// database keeps every reminder exactly-once all the same (row locks, the unique occurrence index), which is
    /// why this service can choose availability. A downed node exits (CoordinatedShutdown), its container engine
    /// starts it again, and it rejoins with a new identity.
    /// </summary>
    public static readonly Config Tuning = ConfigurationFactory.ParseString("""
        akka.cluster {
          failure-detector {
            heartbeat-interval = 1s
            acceptable-heartbeat-pause = 3s
            threshold = 8.0
          }
          downing-provider-class = "Akka.Cluster.AutoDowning, Akka.Cluster"
          auto-down-unreachable-after = 3s
          # A downed node's singletons start elsewhere without waiting any further.
          down-removal-margin = off
          singleton.hand-over-retry-interval = 500ms
          singleton-proxy.singleton-identification-interval = 500ms
          run-coordinated-shutdown-when-down = on
        }
        akka.coordinated-shutdown.exit-clr = off
        """);

    public static AkkaConfigurationBuilder WithCrmCluster(this AkkaConfigurationBuilder builder, ClusterSettings cluster)
    {
        if (!cluster.Enabled) return builder;
        return builder
            .WithRemoting(new RemoteOptions { HostName = "0.0.0.0", PublicHostName = cluster.Hostname, Port = cluster.Port })
            .WithClustering(new ClusterOptions { Roles = [Role], SeedNodes = cluster.SeedNodes.ToArray() })
            .AddHocon(Tuning, HoconAddMode.Prepend); // after WithClustering, so that its downing provider is the one used
    }
}
