using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Configuration;
using Akka.Coordination;
using Akka.Event;
using Crm.Actors.Configuration;
using Npgsql;

namespace Crm.Actors.Storage;

/// <summary>
/// The database the <see cref="PostgresLease"/> lives in, handed to the actor system as an object. Not HOCON: the
/// connection string holds a password, and an actor system's configuration is text that ends up printed (a
/// config dump, <c>akka.log-config-on-start</c>, an error quoting a section). An <see cref="ActorSystemSetup"/>
/// travels with its own system only (no static state shared by two systems in one process, as in the tests), and
/// is there before any extension or downing provider is made, which is when Akka creates the lease.
/// </summary>
public sealed class PostgresLeaseSetup(NpgsqlConnectionStringBuilder connection) : Setup
{
    public NpgsqlConnectionStringBuilder Connection { get; } = new(connection.ConnectionString);
}

/// <summary>
/// An Akka.Coordination lease on one row of <c>crm_actors.cluster_lease</c>, for the split-brain resolver's
/// lease-majority (<see cref="Hosting.ClusterHosting"/>): the side of a partition that can reach the database is
/// the side that can do the work, so it is the side that keeps the lease. The database's clock alone decides
/// expiry (<c>now()</c>): the hosts' clocks never meet. Acquiring is one upsert that takes the row when it is free,
/// expired, or already this owner's; while held, a heartbeat renews it every heartbeat-interval, and the lease is
/// lost (the callback given to <see cref="Acquire(Action{Exception})"/> is called once) when a renewal finds
/// another owner in the row, or when no renewal reached the database before the lease would have expired.
/// Made by Akka's <see cref="LeaseProvider"/> from the config at <see cref="ConfigPath"/>.
/// </summary>
public sealed class PostgresLease : Lease
{
    public const string ConfigPath = "akka.coordination.lease.crm-postgres";
    public const string Table = "crm_actors.cluster_lease";

    /// <summary>
    /// Takes the row when free, expired by the database's clock, or already ours, in one statement (the row is
    /// locked by ON CONFLICT, so two owners racing for it are serialised). The outer SELECT reads the row as it
    /// was before the statement: who holds it, for the log, when it was not ours to take.
    /// </summary>
    private const string AcquireSql = $"""
        WITH taken AS (
          INSERT INTO {Table} AS l (name, owner, expires_at) VALUES (@name, @owner, now() + @ttl)
          ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
            WHERE l.owner = EXCLUDED.owner OR l.owner IS NULL OR l.expires_at IS NULL OR l.expires_at <= now()
          RETURNING 1)
        SELECT EXISTS (SELECT 1 FROM taken),
               (SELECT owner FROM {Table} WHERE name = @name),
               (SELECT expires_at FROM {Table} WHERE name = @name)
        """;

    /// <summary>Only while the row is still ours: an owner that lost it never takes it back by renewing.</summary>
    private const string RenewSql = $"UPDATE {Table} SET expires_at = now() + @ttl WHERE name = @name AND owner = @owner";

    private const string ReleaseSql = $"DELETE FROM {Table} WHERE name = @name AND owner = @owner";

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _database;
    private readonly ILoggingAdapter _log;
    private readonly TimeSpan _ttl;
    private readonly TimeSpan _interval;
    private readonly TimeSpan _operationTimeout;
    // One statement at a time per lease: a renewal never overtakes a release (it would find the row gone).
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Holding? _holding;

    /// <summary>What Akka's <see cref="LeaseProvider"/> calls; the database comes from the system's <see cref="PostgresLeaseSetup"/>.</summary>
    public PostgresLease(LeaseSettings settings, ExtendedActorSystem system) : base(settings)
    {
        var setup = system.Settings.Setup.Get<PostgresLeaseSetup>();
        if (!setup.HasValue)
            throw new InvalidOperationException($"{ConfigPath}: the actor system has no {nameof(PostgresLeaseSetup)}, so no database for the lease");
        _ttl = settings.TimeoutSettings.HeartbeatTimeout;
        _interval = settings.TimeoutSettings.HeartbeatInterval;
        _operationTimeout = settings.TimeoutSettings.OperationTimeout;
        var seconds = (int)Math.Max(1, Math.Ceiling(_operationTimeout.TotalSeconds));
        var connection = new NpgsqlConnectionStringBuilder(setup.Value.Connection.ConnectionString)
        {
            ApplicationName = "crm-actors-lease",
            Timeout = seconds,
            CommandTimeout = seconds,
            MaxPoolSize = 2,
        };
        _database = DatabaseUrl.Describe(connection);
        _dataSource = NpgsqlDataSource.Create(connection);
        _log = Logging.GetLogger(system, typeof(PostgresLease));
        system.RegisterOnTermination(() =>
        {
            // Not released: the row expires by itself, as Akka's resolver expects of a lease held at shutdown.
            Interlocked.Exchange(ref _holding, null)?.Stop.Cancel();
            _dataSource.Dispose();
        });
    }

    /// <summary>The lease's config at <see cref="ConfigPath"/>: the class, and its timings.</summary>
    public static Config Config(TimeSpan heartbeatTimeout, TimeSpan heartbeatInterval, TimeSpan operationTimeout) =>
        ConfigurationFactory.ParseString($$"""
            {{ConfigPath}} {
              lease-class = "{{typeof(PostgresLease).FullName}}, {{typeof(PostgresLease).Assembly.GetName().Name}}"
              heartbeat-timeout = {{(long)heartbeatTimeout.TotalMilliseconds}}ms
              heartbeat-interval = {{(long)heartbeatInterval.TotalMilliseconds}}ms
              lease-operation-timeout = {{(long)operationTimeout.TotalMilliseconds}}ms
            }
            """);

    public override Task<bool> Acquire() => AcquireAsync(null);

    public override Task<bool> Acquire(Action<Exception> leaseLostCallback) => AcquireAsync(leaseLostCallback);

    /// <summary>
    /// True once this owner does not hold the row any more, including when it had already lost it (the
    /// resolver retries a release that answers false every second, forever). Faults when the database cannot be
    /// reached; the row then expires by itself.
    /// </summary>
    public override async Task<bool> Release()
    {
        await _gate.WaitAsync();
        try
        {
            Interlocked.Exchange(ref _holding, null)?.Stop.Cancel();
            var deleted = await RunAsync(ReleaseSql, (command, ct) => command.ExecuteNonQueryAsync(ct));
            if (deleted > 0) _log.Info("Cluster lease {0} released by {1}", Settings.LeaseName, Settings.OwnerName);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>True while held and the last renewal that reached the database is younger than heartbeat-timeout.</summary>
    public override bool CheckLease() => Volatile.Read(ref _holding) is { Expired: false };

    private async Task<bool> AcquireAsync(Action<Exception>? lost)
    {
        await _gate.WaitAsync();
        try
        {
            var sent = Stopwatch.GetTimestamp();
            var (acquired, holder, until) = await RunAsync(AcquireSql, async (command, ct) =>
            {
                await using var reader = await command.ExecuteReaderAsync(ct);
                await reader.ReadAsync(ct);
                return (reader.GetBoolean(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                    reader.IsDBNull(2) ? (DateTime?)null : reader.GetDateTime(2));
            });
            if (!acquired)
            {
                _log.Info("Cluster lease {0} not acquired by {1}: {2} holds it until {3:O} (the database's clock)",
                    Settings.LeaseName, Settings.OwnerName, holder ?? "another owner", until);
                if (Interlocked.Exchange(ref _holding, null) is { } stale)
                    Lose(stale, new LeaseException($"Cluster lease {Settings.LeaseName} is held by {holder ?? "another owner"}"));
                return false;
            }
            if (_holding is { } held)
            {
                held.Renewed(sent, _ttl);
                if (lost is not null) held.Lost = lost;
            }
            else
            {
                held = new Holding(lost);
                held.Renewed(sent, _ttl);
                _holding = held;
                _ = HeartbeatAsync(held);
                _log.Info("Cluster lease {0} acquired by {1} for {2} ms, renewed every {3} ms",
                    Settings.LeaseName, Settings.OwnerName, _ttl.TotalMilliseconds, _interval.TotalMilliseconds);
            }
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task HeartbeatAsync(Holding held)
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(held.Stop.Token))
            {
                await _gate.WaitAsync(held.Stop.Token);
                try
                {
                    if (held.Stop.IsCancellationRequested) return;
                    var sent = Stopwatch.GetTimestamp();
                    try
                    {
                        var renewed = await RunAsync(RenewSql, (command, ct) => command.ExecuteNonQueryAsync(ct));
                        if (renewed > 0)
                        {
                            held.Renewed(sent, _ttl);
                            continue;
                        }
                        LoseHeld(held, new LeaseException($"Cluster lease {Settings.LeaseName} was taken by another owner"));
                        return;
                    }
                    catch (LeaseException e) when (!held.Stop.IsCancellationRequested)
                    {
                        if (held.Expired)
                        {
                            LoseHeld(held, new LeaseTimeoutException(
                                $"Cluster lease {Settings.LeaseName}: no renewal reached {_database} within {_ttl.TotalMilliseconds} ms ({e.Message})"));
                            return;
                        }
                        _log.Warning("Cluster lease {0}: renewal failed, retried in {1} ms: {2}", Settings.LeaseName, _interval.TotalMilliseconds, e.Message);
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
        }
        catch (OperationCanceledException) when (held.Stop.IsCancellationRequested)
        {
            // released, or the actor system ended
        }
    }

    /// <summary>Under the gate: forget the holding, then tell its owner.</summary>
    private void LoseHeld(Holding held, Exception reason)
    {
        Interlocked.CompareExchange(ref _holding, null, held);
        Lose(held, reason);
    }

    private void Lose(Holding held, Exception reason)
    {
        held.Stop.Cancel();
        _log.Warning("{0}", reason.Message);
        try
        {
            held.Lost?.Invoke(reason);
        }
        catch (Exception e)
        {
            _log.Error(e, "Cluster lease {0}: the lease-lost callback failed", Settings.LeaseName);
        }
    }

    /// <summary>
    /// One statement within lease-operation-timeout. A failure to reach or use the database is a
    /// <see cref="LeaseException"/> carrying no inner exception and a redacted message: Akka logs what a lease
    /// throws, and nothing of the connection string may reach a log.
    /// </summary>
    private async Task<T> RunAsync<T>(string sql, Func<NpgsqlCommand, CancellationToken, Task<T>> run)
    {
        using var timeout = new CancellationTokenSource(_operationTimeout);
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(timeout.Token);
            await using var command = new NpgsqlCommand(sql, connection);
            command.Parameters.AddWithValue("name", Settings.LeaseName);
            command.Parameters.AddWithValue("owner", Settings.OwnerName);
            command.Parameters.AddWithValue("ttl", _ttl);
            return await run(command, timeout.Token);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException or TimeoutException or IOException
                                      or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            var why = e is OperationCanceledException ? $"no answer within {_operationTimeout.TotalMilliseconds} ms" : Secrets.RedactText(e.Message);
            throw new LeaseException($"Cluster lease {Settings.LeaseName} on {_database}: {why}");
        }
    }

    /// <summary>This owner's hold on the row, from an acquire until its release or loss.</summary>
    private sealed class Holding(Action<Exception>? lost)
    {
        private long _validUntil;

        public Action<Exception>? Lost { get; set; } = lost;
        public CancellationTokenSource Stop { get; } = new();

        /// <summary>
        /// Valid for heartbeat-timeout from when the statement was sent: never later than the database's own
        /// expiry, which it set at or after that moment.
        /// </summary>
        public void Renewed(long sent, TimeSpan ttl) =>
            Volatile.Write(ref _validUntil, sent + (long)(ttl.TotalSeconds * Stopwatch.Frequency));

        public bool Expired => Stopwatch.GetTimestamp() >= Volatile.Read(ref _validUntil);
    }
}
