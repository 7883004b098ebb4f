using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using Npgsql;
using static Crm.Actors.Reminders.ReminderScanMessages;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Reminders;

/// <summary>
/// The real root supervisor running the real reminder_worker against a real PostgreSQL on the CRM's schema: what
/// a stop and a failed page query do to transactions that are really open, seen from the database's own views.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ReminderWorkerSupervisionPostgresTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private const string Name = ReminderWorkerActor.ProgramName;

    private static readonly ProgramSettings Fast = ReminderWorkerSupervisionTests.Fast;

    private static readonly ReminderSettings Reminders = ReminderSettings.Default with
    {
        BatchSize = 10,
        Writers = 2,
        // Long: a batch waits on the test's lock as long as the test needs, and is never given up by the scan.
        BatchTimeout = TimeSpan.FromMinutes(2),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
    };

    /// <summary>The service's write statement, as pg_stat_activity shows it (PostgresReminderStore.WriteSql).</summary>
    private const string ServiceWrites = "application_name = 'crm-actors' AND query LIKE 'WITH locked AS (%'";

    private TestDatabase _db = null!;
    private readonly TestProbe _transitions;

    public ReminderWorkerSupervisionPostgresTests()
    {
        _transitions = CreateTestProbe();
        Sys.EventStream.Subscribe(_transitions, typeof(ProgramTransition));
    }

    public async Task InitializeAsync() => _db = await PostgresServer.CreateDatabaseAsync();

    async Task IAsyncLifetime.DisposeAsync() => await _db.DisposeAsync();

    private IActorRef Root(IReminderStore store, ProgramSettings settings, ReminderSettings? reminders = null) =>
        Sys.ActorOf(RootSupervisor.Props([ReminderWorkerActor.Program(store, reminders ?? Reminders, settings, periodic: false)], durable: false));

    private async Task<List<ProgramState>> StatesAsync(int count)
    {
        var states = new List<ProgramState>();
        for (var i = 0; i < count; i++) states.Add((await _transitions.ExpectMsgAsync<ProgramTransition>(Wait)).To);
        return states;
    }

    /// <summary>How many due rows another session can lock now, without waiting (those the service holds are skipped).</summary>
    private async Task<long> LockableDueRowsAsync()
    {
        await using var conn = new NpgsqlConnection(_db.Connection.ConnectionString);
        await conn.OpenAsync();
        await using var tx = await conn.BeginTransactionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM (SELECT id FROM crm_interactions WHERE notified_at IS NULL FOR UPDATE SKIP LOCKED) x", conn, tx);
        var count = (long)(await command.ExecuteScalarAsync())!;
        await tx.RollbackAsync();
        return count;
    }

    /// <summary>Sends scans until one completes (a scan restarting after a failure answers ScanFailed meanwhile).</summary>
    private async Task<ScanReport> ScanUntilCompletedAsync(IActorRef root)
    {
        var probe = CreateTestProbe();
        ScanReport? report = null;
        await Eventually.HoldsAsync(async () =>
        {
            // A request sent while a failed scan is being stopped is lost with it: ask again after a while.
            root.Tell(new ToProgram(Name, new RunScan("retry")), probe);
            report = (await probe.ReceiveOneAsync(TimeSpan.FromSeconds(5)) as ScanCompleted)?.Report;
            return report is not null;
        }, Wait, "a scan completes");
        return report!;
    }

    [Fact]
    public async Task Should_roll_back_a_really_open_transaction_that_outlives_stopwaitsecs_and_write_every_row_once_after_a_new_start()
    {
        const int due = 30;
        await _db.SeedBacklogAsync(due);
        // No command timeout (Npgsql's default, 30 s, would cancel the blocked statement by itself): only the stop may end it.
        await using var store = new PostgresReminderStore(new NpgsqlConnectionStringBuilder(_db.Connection.ConnectionString)
            { ApplicationName = "crm-actors", CommandTimeout = 0 });
        var stopWait = TimeSpan.FromMilliseconds(500);
        var root = Root(store, Fast with { StopWaitSecs = stopWait });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // The blocker: the assignees locked FOR UPDATE. The service's statement locks its interactions, inserts the
        // notifications and sets notified_at, then waits at its end, in the foreign key check of notifications.user_id
        // (FOR KEY SHARE on users). A LOCK TABLE notifications would stop it earlier: a statement takes its table
        // locks before it runs, so no interaction row would be locked yet.
        await using var blocker = new NpgsqlConnection(_db.Connection.ConnectionString);
        await blocker.OpenAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockUsers = new NpgsqlCommand("SELECT count(*) FROM (SELECT id FROM users FOR UPDATE) locked", blocker, blocking))
            Assert.Equal(10L, await lockUsers.ExecuteScalarAsync());
        var blockerPid = blocker.ProcessID;

        var scan = CreateTestProbe();
        root.Tell(new ToProgram(Name, new RunScan("test")), scan);

        // Both writers' transactions are open, each with its transaction id, and wait on the blocker.
        List<Dictionary<string, object?>> waiting = [];
        await Eventually.HoldsAsync(async () =>
        {
            waiting = await _db.RowsAsync($"""
                SELECT pid, state, wait_event_type, backend_xid IS NOT NULL AS has_xid, xact_start IS NOT NULL AS in_xact,
                       {blockerPid} = ANY(pg_blocking_pids(pid)) AS blocked_by_test
                FROM pg_stat_activity WHERE datname = current_database() AND {ServiceWrites}
                  AND state = 'active' AND wait_event_type = 'Lock'
                """);
            return waiting.Count == 2;
        }, Wait, "both batches' statements wait on the test's lock");
        Assert.All(waiting, w => Assert.Equal((true, true, true), ((bool)w["has_xid"]!, (bool)w["in_xact"]!, (bool)w["blocked_by_test"]!)));
        var servicePids = waiting.Select(w => (int)w["pid"]!).ToArray();
        var pids = string.Join(",", servicePids);
        // pg_locks: each waits for a lock not granted, while holding its write lock on notifications and crm_interactions.
        Assert.Equal(2, await _db.ScalarAsync<long>($"SELECT count(DISTINCT pid) FROM pg_locks WHERE pid IN ({pids}) AND NOT granted"));
        Assert.Equal(4, await _db.ScalarAsync<long>($"""
            SELECT count(*) FROM pg_locks WHERE pid IN ({pids}) AND granted AND mode = 'RowExclusiveLock'
              AND relation IN ('notifications'::regclass, 'crm_interactions'::regclass)
            """));
        // The two batches' 20 interactions are locked by the service: only the third page's 10 can be locked by others.
        Assert.Equal(due - 20, await LockableDueRowsAsync());
        // And their 20 notifications are inserted, uncommitted: the id sequence, which no rollback undoes, has given 20 ids.
        Assert.Equal(20, await _db.ScalarAsync<long>("SELECT last_value FROM notifications_id_seq"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));

        var stopwatch = Stopwatch.StartNew();
        CommandResult answer = null!;
        await EventFilter.Warning(contains: "reminder_worker did not stop within stopwaitsecs (0.5s): stopping it now; any batch still being written is rolled back")
            .ExpectOneAsync(Wait, async () => answer = await root.Ask<CommandResult>(new StopProgram(Name), Wait));
        stopwatch.Stop();
        Assert.Equal("reminder_worker: stopped", answer.ToString());
        Assert.Equal([Stopping, Stopped], await StatesAsync(2));
        // Answered after stopwaitsecs, not after the blocked statement (which the test still blocks).
        Assert.InRange(stopwatch.Elapsed, stopWait, stopWait + TimeSpan.FromSeconds(15));

        // With the test's lock still held, the service's statements are gone and their transactions ended: nothing
        // of theirs is active or idle in a transaction, and every row is free again. They could not have committed
        // (the foreign key check still waits on the test): they were rolled back.
        await Eventually.HoldsAsync(async () => await _db.ScalarAsync<long>($"""
            SELECT count(*) FROM pg_stat_activity
            WHERE pid IN ({pids}) AND (state IN ('active', 'idle in transaction', 'idle in transaction (aborted)') OR xact_start IS NOT NULL)
            """) == 0, Wait, "the service's transactions have ended while the test still holds its lock");
        Assert.Equal(0, await _db.ScalarAsync<long>($"SELECT count(*) FROM pg_locks WHERE pid IN ({pids}) AND locktype IN ('transactionid', 'relation', 'tuple')"));
        Assert.Equal(due, await LockableDueRowsAsync());
        Assert.Equal(0, await _db.ScalarAsync<long>($"SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND {ServiceWrites} AND state <> 'idle'"));

        await blocking.RollbackAsync();
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
        Assert.Equal(due, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));

        Assert.Equal("reminder_worker: started", (await root.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var report = await ScanUntilCompletedAsync(root);
        Assert.Equal((due, due), (report.Found, report.Outcome.Written));
        await _db.AssertExactlyOnceAsync(due);
    }

    [Fact]
    public async Task Should_write_the_rest_of_a_backlog_exactly_once_after_a_page_query_fails_in_the_middle_of_it()
    {
        const int due = 55;
        await _db.SeedBacklogAsync(due);
        await using var inner = _db.Store();
        // One writer: page 1 is committed before page 3 is read, and page 3's read fails (page 2 may be in flight).
        var store = new FaultInjectingStore(inner) { FailFind = (3, () => new IOException("injected: connection reset while reading a page")) };
        var root = Root(store, Fast, Reminders with { Writers = 1 });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var scan = CreateTestProbe();
        root.Tell(new ToProgram(Name, new RunScan("test")), scan);
        Assert.Contains("connection reset while reading a page", (await scan.ExpectMsgAsync<ScanFailed>(Wait)).Reason);
        var writtenBefore = await _db.ScalarAsync<long>("SELECT count(*) FROM notifications");
        Assert.InRange(writtenBefore, 10, 20); // page 1 whole, perhaps page 2: some of the backlog, not all

        var report = await ScanUntilCompletedAsync(root);

        Assert.True(store.Finds >= 4);
        Assert.InRange(report.Outcome.Written, due - 20, due - 10); // the rest, and only the rest
        await _db.AssertExactlyOnceAsync(due);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // a transient error: the program never left RUNNING
    }

    [Fact]
    public async Task Should_fail_its_starts_while_its_database_does_not_exist_then_run_once_it_exists_and_the_operator_starts_it()
    {
        var name = PostgresServer.NewName();
        var connection = new NpgsqlConnectionStringBuilder(PostgresServer.Admin().ConnectionString) { Database = name, Pooling = true, Timeout = 3 };
        await using var store = new PostgresReminderStore(connection);
        var root = Root(store, Fast with { StartRetries = 1 });

        // The database does not exist: the supervisor answers at once, and the program fails to start, twice, then is FATAL.
        Assert.Equal(Name, (await root.StatusOfAsync(Name, TimeSpan.FromSeconds(2))).Name);
        Assert.Equal([Starting, Backoff, Starting, Fatal], await StatesAsync(4));
        Assert.Contains("does not exist", (await root.StatusOfAsync(Name, Wait)).LastError);

        await using var db = await PostgresServer.CreateDatabaseAsync(name: name);
        await db.SeedBacklogAsync(3);
        Assert.Equal("reminder_worker: started", (await root.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var report = await ScanUntilCompletedAsync(root);
        Assert.Equal((3, 3), (report.Found, report.Outcome.Written));
        await db.AssertExactlyOnceAsync(3);
    }
}
