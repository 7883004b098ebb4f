using Akka.Cluster.Hosting;
using Akka.Configuration;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Crm.Actors.Storage;
using Npgsql;

namespace Crm.Actors.Hosting;

/// <summary>
/// Akka.Cluster for the service (SPEC §8), when <c>crm.cluster.enabled</c>. Every node runs every program on its
/// own and the database arbitrates every reminder (row locks, the unique occurrence index), so downing decides
/// membership only: who is in the operator's view, whose intent counts. Downing is Akka's split-brain resolver
/// with <c>lease-majority</c> and the lease in the service's PostgreSQL (<see cref="PostgresLease"/>): the side
/// that reaches the database is the side that can work, so it is the side that stays (docs/downing.md).
/// </summary>
/// <remarks>
/// Failure cases (t0: the failure; a node is unreachable about 3 s later, and the resolver decides once nothing
/// changed for stable-after, 5 s):
/// <list type="bullet">
/// <item>One node dies, of 2 or 3 (SIGKILL, a crashed machine): at about t0 + 8 s the survivors' leader takes the
/// lease (the minority side of 2, the survivor with the higher address, waits acquire-lease-delay-for-minority,
/// 2 s, first) and downs the dead node. A dead node that held the lease (it decided an earlier failure) stops
/// renewing it: its row expires by t0 + heartbeat-timeout, 5 s, before anyone decides, so it never blocks.</item>
/// <item>A partition, or a frozen node (SIGSTOP, a paused VM): each side decides for itself. The side that takes
/// the lease downs the other; the side that cannot (the row is held, or the database does not answer within
/// lease-operation-timeout) downs itself. When both sides reach the database the majority gets it (the minority
/// waits 2 s first). The winner keeps the row release-after, 40 s, after the losers are removed: a frozen node
/// that wakes within that window finds the row held and downs itself; one that wakes later takes the free row and
/// goes on as a cluster of its own (harmless here, the database arbitrates; restarting it makes it rejoin).</item>
/// <item>No side reaches the database while a node is unreachable: every side fails to take the lease, and Akka
/// reverses each side's decision (it downs its own side), so every node downs itself and exits; the container
/// engine restarts them and they form a new cluster. Nothing is lost: no program can work without the
/// database anyway, and a restarted node waits for it as a standalone one does. With the database unreachable
/// and every node reachable, nothing is decided and nothing is downed.</item>
/// <item>Two failures within release-after, where the holder is no longer the leader (a lower address rejoined
/// meanwhile): the new leader's side finds the row held and downs itself. Rare; it costs a restart, no reminder.</item>
/// </list>
/// Reminders are never affected by downing: each node's programs run on their own and the database arbitrates,
/// so a downed node's restart makes no reminder late. A downed node exits through CoordinatedShutdown
/// (<c>run-coordinated-shutdown-when-down</c>; Crm.Host then exits 1), its container engine starts it again,
/// and it rejoins with a new identity.
/// </remarks>
public static class ClusterHosting
{
    public const string Role = "crm";

    /// <summary>How long a dead holder's row blocks others: shorter than detection (3 s) plus stable-after (5 s).</summary>
    public static readonly TimeSpan LeaseHeartbeatTimeout = TimeSpan.FromSeconds(5);

    /// <summary>A third of the timeout: two renewals may fail (a database blip) before the lease is lost.</summary>
    public static readonly TimeSpan LeaseHeartbeatInterval = TimeSpan.FromMilliseconds(1500);

    /// <summary>An acquire that gets no answer in time is a failed one: the resolver then downs its own side.</summary>
    public static readonly TimeSpan LeaseOperationTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Failure detection and downing. A node is suspected after about 3 s of silence (heartbeats every second);
    /// the split-brain resolver decides once the membership was stable 5 s. down-all-when-unstable is off: its
    /// purpose, no two sides deciding against each other while the network flaps, is the lease's here, and it
    /// would stop every side of a flapping network.
    /// </summary>
    public static readonly Config Tuning = ConfigurationFactory.ParseString($$"""
        akka.cluster {
          failure-detector {
            heartbeat-interval = 1s
            acceptable-heartbeat-pause = 3s
            threshold = 8.0
          }
          downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
          split-brain-resolver {
            active-strategy = lease-majority
            stable-after = 5s
            down-all-when-unstable = off
            lease-majority {
              lease-implementation = "{{PostgresLease.ConfigPath}}"
              lease-name = "crm-actors-akka-sbr"
              acquire-lease-delay-for-minority = 2s
              release-after = 40s
              role = "{{Role}}"
            }
          }
          run-coordinated-shutdown-when-down = on
        }
        akka.coordinated-shutdown.exit-clr = off
        """).WithFallback(PostgresLease.Config(LeaseHeartbeatTimeout, LeaseHeartbeatInterval, LeaseOperationTimeout));

    /// <param name="leaseDatabase">The PostgreSQL the resolver's lease lives in; required when the cluster is enabled.</param>
    public static AkkaConfigurationBuilder WithCrmCluster(this AkkaConfigurationBuilder builder, ClusterSettings cluster,
        NpgsqlConnectionStringBuilder? leaseDatabase)
    {
        if (!cluster.Enabled) return builder;
        if (leaseDatabase is null)
            throw new InvalidOperationException("the cluster's split-brain lease needs PostgreSQL");
        return builder
            .WithRemoting(new RemoteOptions { HostName = "0.0.0.0", PublicHostName = cluster.Hostname, Port = cluster.Port })
            .WithClustering(new ClusterOptions { Roles = [Role], SeedNodes = cluster.SeedNodes.ToArray() })
            .AddSetup(new PostgresLeaseSetup(leaseDatabase)) // the connection string holds a password: never in HOCON
            .AddHocon(Tuning, HoconAddMode.Prepend); // after WithClustering, so that its downing provider is the one used
    }
}
