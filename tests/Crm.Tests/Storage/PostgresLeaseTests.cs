using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Coordination;
using Akka.Event;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Tests.Support;
using Npgsql;

namespace Crm.Tests.Storage;

/// <summary>
/// The cluster's split-brain lease on a real PostgreSQL, made as Akka's resolver makes it (LeaseProvider, the
/// config at PostgresLease.ConfigPath, the database from the system's setup). Short timings: a 2 s lease renewed
/// every 600 ms.
/// </summary>
[Trait("Category", "Integration")]
public sealed class PostgresLeaseTests : IAsyncLifetime
{
    private const string Password = "s3cret-of-the-lease";
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(2);

    private readonly List<ActorSystem> _systems = [];
    private readonly ConcurrentQueue<string> _logLines = new();
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await PostgresServer.CreateDatabaseAsync();

    public async Task DisposeAsync()
    {
        foreach (var system in _systems) await system.Terminate();
        await _db.DisposeAsync();
    }

    /// <summary>An actor system whose lease reaches the database at <paramref name="port"/> (the server's by default), with a password.</summary>
    private ActorSystem NewSystem(int? port = null)
    {
        var connection = new NpgsqlConnectionStringBuilder(_db.Connection.ConnectionString) { Password = Password, Pooling = true };
        if (port is { } p) connection.Port = p;
        var config = ConfigurationFactory.ParseString("akka { loglevel = DEBUG, stdout-loglevel = WARNING, loggers = [] }")
            .WithFallback(PostgresLease.Config(Ttl, TimeSpan.FromMilliseconds(600), TimeSpan.FromSeconds(1)));
        var system = ActorSystem.Create($"lease-{_systems.Count}",
            ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(config), new PostgresLeaseSetup(connection)));
        _systems.Add(system);
        system.EventStream.Subscribe(system.ActorOf(Props.Create(() => new LogCollector(_logLines))), typeof(LogEvent));
        return system;
    }

    private static Lease LeaseOf(ActorSystem system, string owner, string name = "crm-actors-akka-sbr") =>
        LeaseProvider.Get(system).GetLease(name, PostgresLease.ConfigPath, owner);

    private Task<string?> HolderAsync(string name = "crm-actors-akka-sbr") =>
        _db.ScalarAsync<string?>($"SELECT coalesce((SELECT owner FROM crm_actors.cluster_lease WHERE name = '{name}'), '')")!;

    private sealed class LogCollector : ReceiveActor
    {
        public LogCollector(ConcurrentQueue<string> lines) => Receive<LogEvent>(e => lines.Enqueue(e.ToString()));
    }

    [Fact]
    public async Task Should_let_one_owner_hold_the_lease_and_refuse_it_to_another()
    {
        var system = NewSystem();
        var (a, b) = (LeaseOf(system, "node-a:4053"), LeaseOf(system, "node-b:4053"));

        Assert.True(await a.Acquire());
        Assert.False(await b.Acquire());
        Assert.True(a.CheckLease());
        Assert.False(b.CheckLease());
        Assert.Equal("node-a:4053", await HolderAsync());

        // Two owners racing for a free lease: exactly one gets it.
        var (c, d) = (LeaseOf(system, "node-c:4053", "race"), LeaseOf(system, "node-d:4053", "race"));
        var both = await Task.WhenAll(c.Acquire(), d.Acquire());
        Assert.Single(both, acquired => acquired);
        Assert.Equal(both[0] ? "node-c:4053" : "node-d:4053", await HolderAsync("race"));
    }

    [Fact]
    public async Task Should_let_the_owner_acquire_the_lease_again_and_keep_it_renewed_while_held()
    {
        var system = NewSystem();
        var a = LeaseOf(system, "node-a:4053");

        Assert.True(await a.Acquire());
        Assert.True(await a.Acquire());
        // Renewed by its heartbeat: still held, by the database's clock, well past the first 2 s.
        var firstExpiry = await _db.ScalarAsync<DateTime>("SELECT expires_at FROM crm_actors.cluster_lease");
        await Eventually.HoldsAsync(async () =>
                await _db.ScalarAsync<bool>($"SELECT expires_at > '{firstExpiry:O}'::timestamptz + interval '2 seconds' FROM crm_actors.cluster_lease"),
            TimeSpan.FromSeconds(10), "the heartbeat renews the lease");
        Assert.True(a.CheckLease());
        Assert.False(await LeaseOf(system, "node-b:4053").Acquire());
    }

    [Fact]
    public async Task Should_let_another_owner_in_once_the_holder_stopped_renewing_and_the_lease_expired()
    {
        var holderSystem = NewSystem();
        Assert.True(await LeaseOf(holderSystem, "node-a:4053").Acquire());
        var b = LeaseOf(NewSystem(), "node-b:4053");
        Assert.False(await b.Acquire());

        await holderSystem.Terminate(); // as a killed node: no release, its renewals stop
        var stoppedAt = DateTime.UtcNow;
        await Eventually.HoldsAsync(() => b.Acquire(), TimeSpan.FromSeconds(10), "another owner takes the expired lease");

        Assert.InRange(DateTime.UtcNow - stoppedAt, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(6));
        Assert.Equal("node-b:4053", await HolderAsync());
        Assert.True(b.CheckLease());
    }

    [Fact]
    public async Task Should_free_the_lease_on_release_by_its_owner_only()
    {
        var system = NewSystem();
        var (a, b) = (LeaseOf(system, "node-a:4053"), LeaseOf(system, "node-b:4053"));
        Assert.True(await a.Acquire());

        Assert.True(await b.Release()); // b does not hold it: nothing of a's is touched
        Assert.Equal("node-a:4053", await HolderAsync());
        Assert.False(await b.Acquire());

        Assert.True(await a.Release());
        Assert.False(a.CheckLease());
        Assert.Equal("", await HolderAsync());
        Assert.True(await b.Acquire());
    }

    [Fact]
    public async Task Should_call_the_lost_callback_when_another_owner_takes_the_expired_lease()
    {
        var system = NewSystem();
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = LeaseOf(system, "node-a:4053");
        Assert.True(await a.Acquire(e => lost.TrySetResult(e)));

        // As if a's renewals had stopped reaching the database: its row expires by the database's clock, and b takes it.
        var b = LeaseOf(system, "node-b:4053");
        await Eventually.HoldsAsync(async () =>
        {
            await _db.ExecuteAsync("UPDATE crm_actors.cluster_lease SET expires_at = now() - interval '1 second'");
            return await b.Acquire();
        }, TimeSpan.FromSeconds(10), "b takes the expired lease");

        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<LeaseException>(reason);
        Assert.Contains("taken by another owner", reason.Message);
        Assert.False(a.CheckLease());
        Assert.True(b.CheckLease());
        Assert.Equal("node-b:4053", await HolderAsync()); // a's later heartbeats never take it back
    }

    [Fact]
    public async Task Should_lose_the_lease_when_no_renewal_reaches_the_database_before_it_expires()
    {
        using var proxy = new OutageProxy(_db.Connection.Port);
        var system = NewSystem(proxy.Port);
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);
        var a = LeaseOf(system, "node-a:4053");
        Assert.True(await a.Acquire(e => lost.TrySetResult(e)));

        proxy.Down();
        var downAt = DateTime.UtcNow;
        var reason = await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.IsType<LeaseTimeoutException>(reason);
        Assert.InRange(DateTime.UtcNow - downAt, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(4)); // within the 2 s lease, plus a renewal
        Assert.False(a.CheckLease());
        await Assert.ThrowsAnyAsync<LeaseException>(() => a.Acquire()); // the database does not answer: a fault, never a guess
    }

    [Fact]
    public async Task Should_write_no_password_in_any_log_line_whatever_happens_to_the_lease()
    {
        using var proxy = new OutageProxy(_db.Connection.Port);
        var system = NewSystem(proxy.Port);
        var (a, b) = (LeaseOf(system, "node-a:4053"), LeaseOf(system, "node-b:4053"));
        var lost = new TaskCompletionSource<Exception>(TaskCreationOptions.RunContinuationsAsynchronously);

        Assert.True(await a.Acquire(e => lost.TrySetResult(e)));
        Assert.False(await b.Acquire());
        proxy.Down(); // renewals fail, then the lease is lost; an acquire fails
        await lost.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<LeaseException>(() => b.Acquire());
        proxy.Up();
        Assert.True(await b.Acquire());
        Assert.True(await b.Release());

        var lines = _logLines.ToArray();
        Assert.Contains(lines, line => line.Contains("renewal failed"));
        Assert.Contains(lines, line => line.Contains("acquired by node-b:4053"));
        Assert.DoesNotContain(lines, line => line.Contains(Password));
    }

    [Fact]
    public async Task Should_create_the_lease_table_on_migrate_and_refuse_to_start_without_it()
    {
        await _db.ExecuteAsync("DROP TABLE crm_actors.cluster_lease");
        await using var store = _db.Store();
        var error = await Assert.ThrowsAsync<StoreNotReadyException>(() => store.VerifyAsync(NotificationTemplate.Default));
        Assert.Contains("--migrate", error.Message);

        await store.MigrateAsync();
        await store.MigrateAsync();
        await store.VerifyAsync(NotificationTemplate.Default);
        Assert.True(await LeaseOf(NewSystem(), "node-a:4053").Acquire());
    }
}
