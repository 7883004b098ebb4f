using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.TestKit;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using static Crm.Actors.Reminders.ReminderScanMessages;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Reminders;

/// <summary>
/// The reminder_worker under its real root supervisor, on a real SQLite file with faults injected in front of the
/// store: what the worker does with a database that fails a scan, a batch, or its start, and with a stop while a
/// batch is in flight. Settings are short (milliseconds), so no test waits on a long sleep. Supervision itself
/// (supervisorctl's answers, startsecs, backoff, FATAL) is tested on a stub program, in Supervision/.
/// </summary>
public sealed class ReminderWorkerSupervisionTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string Name = ReminderWorkerActor.ProgramName;

    internal static readonly ProgramSettings Fast = ProgramSettings.Default with
    {
        StartSecs = TimeSpan.FromMilliseconds(300),
        StartRetries = 2,
        StopWaitSecs = TimeSpan.FromSeconds(3),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private static readonly ReminderSettings Reminders = ReminderSettings.Default with
    {
        BatchSize = 10,
        // A batch sent while the writer is being stopped for a restart is lost; the scan notices it this soon.
        BatchTimeout = TimeSpan.FromSeconds(1),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(100),
    };

    private readonly string _path = Path.Combine(Directory.CreateTempSubdirectory("crm-worker-supervision-").FullName, "crm.db");
    private readonly TestProbe _transitions;

    public ReminderWorkerSupervisionTests()
    {
        _transitions = CreateTestProbe();
        Sys.EventStream.Subscribe(_transitions, typeof(ProgramTransition));
    }

    private async Task<FaultInjectingStore> StoreAsync(int due = 0)
    {
        var inner = new SqliteReminderStore(_path);
        await inner.MigrateAsync();
        if (due > 0) await SeedAsync(_path, due);
        return new FaultInjectingStore(inner);
    }

    internal static async Task SeedAsync(string path, int due)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("""
            INSERT OR IGNORE INTO users (id, email) VALUES (1, 'a@example.com');
            WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < @due)
            INSERT INTO crm_interactions (title, status, assignee_id, next_action_at)
            SELECT 'Interaction ' || n, 'todo', 1, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-' || n || ' minutes') FROM g;
            """, connection);
        command.Parameters.AddWithValue("@due", due);
        await command.ExecuteNonQueryAsync();
    }

    private async Task<long> NotificationsAsync()
    {
        await using var connection = new SqliteConnection($"Data Source={_path}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT count(*) FROM notifications", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    private IActorRef Root(IReminderStore store, ProgramSettings? settings = null, ReminderSettings? reminders = null) =>
        Sys.ActorOf(RootSupervisor.Props([ReminderWorkerActor.Program(store, reminders ?? Reminders, settings ?? Fast, periodic: false)], durable: false));

    /// <summary>The next <paramref name="count"/> states the program enters, in order.</summary>
    private async Task<List<ProgramState>> StatesAsync(int count)
    {
        var states = new List<ProgramState>();
        for (var i = 0; i < count; i++) states.Add((await _transitions.ExpectMsgAsync<ProgramTransition>(Wait)).To);
        return states;
    }

    private async Task<ProgramInfo> StatusAsync(IActorRef root) => await root.StatusOfAsync(Name, Wait);

    [Fact]
    public async Task Should_fail_a_start_whose_database_accepts_the_connection_and_never_answers_and_go_FATAL()
    {
        var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var held = new System.Collections.Concurrent.ConcurrentQueue<Socket>();
        _ = Task.Run(async () =>
        {
            try { while (true) held.Enqueue(await silent.AcceptSocketAsync()); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { }
        });
        // Timeout = 0: the driver waits for as long as it takes (libpq's connect_timeout = 0), and ignores cancellation.
        var store = new PostgresReminderStore(new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = ((IPEndPoint)silent.LocalEndpoint).Port, Username = "crm", Database = "crm", Timeout = 0,
        });
        try
        {
            var root = Root(store, Fast with { StartRetries = 1, StartTimeout = TimeSpan.FromMilliseconds(500) });

            Assert.Equal([Starting, Backoff, Starting, Fatal], await StatesAsync(4));
            Assert.Contains("not ready within start-timeout (0.5s)", (await StatusAsync(root)).LastError);
            Assert.NotEmpty(held); // the database did accept the connections
        }
        finally
        {
            silent.Stop();
            foreach (var socket in held) socket.Dispose(); // the driver's waits end
            await store.DisposeAsync();
        }
    }

    [Fact]
    public async Task Should_exit_and_restart_with_the_counter_reset_after_a_failure_past_startsecs()
    {
        var store = await StoreAsync(due: 5);
        store.FailWrite = (1, () => new InvalidOperationException("injected: unexpected"));
        var root = Root(store);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        root.Tell(new ToProgram(Name, new RunScan("test")));
        await ExpectMsgAsync<ScanFailed>(Wait);

        Assert.Equal([Exited, Starting, Running], await StatesAsync(3));
        Assert.Equal(0, (await StatusAsync(root)).FailedStarts);
        root.Tell(new ToProgram(Name, new RunScan("again")));
        Assert.Equal(5, (await ExpectMsgAsync<ScanCompleted>(Wait)).Report.Outcome.Written);
    }

    [Fact]
    public async Task Should_stay_RUNNING_and_retry_a_failing_page_query_after_a_growing_backoff_then_write_everything()
    {
        var store = await StoreAsync(due: 5);
        store.FailFindsThrough = (2, () => new IOException("injected: connection reset while reading a page"));
        var backoff = TimeSpan.FromMilliseconds(400);
        var root = Root(store, reminders: Reminders with { MinBackoff = backoff, MaxBackoff = backoff * 4 });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // The scan's supervisor restarts it and says so in one WARNING line (Akka's own failure log, with its stack trace, is off).
        await EventFilter.Warning(start: "scan failed on a transient database error, restarting it with backoff: scanning for due reminders failed: injected: connection reset while reading a page")
            .ExpectOneAsync(Wait, async () =>
            {
                root.Tell(new ToProgram(Name, new RunScan("test")));
                Assert.Contains("connection reset while reading a page", (await ExpectMsgAsync<ScanFailed>(Wait)).Reason);
            });
        ScanReport? report = null;
        await Eventually.HoldsAsync(async () =>
        {
            // A request sent while the failed scan is being stopped is lost with it: ask again after a while.
            root.Tell(new ToProgram(Name, new RunScan("retry")));
            report = (await ReceiveOneAsync(TimeSpan.FromSeconds(5)) as ScanCompleted)?.Report;
            return report is not null;
        }, Wait, "a scan completes once the page query answers again");

        Assert.Equal((5, 5), (report!.Found, report.Outcome.Written));
        Assert.Equal(5, await NotificationsAsync());
        // Each retry came after the backoff, which grows: at least min-backoff, then at least twice that.
        var finds = store.FindTimes;
        Assert.True(finds.Count >= 3, $"{finds.Count} page queries");
        Assert.True(finds[1] - finds[0] >= backoff, $"second page query {finds[1] - finds[0]} after the first");
        Assert.True(finds[2] - finds[1] >= backoff * 2, $"third page query {finds[2] - finds[1]} after the second");
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // never left RUNNING
        Assert.Equal(Running, (await StatusAsync(root)).State);
    }

    [Fact]
    public async Task Should_exit_and_restart_the_program_when_a_page_query_fails_for_good_and_log_it_in_one_line_without_a_stack_trace()
    {
        var store = await StoreAsync(due: 5);
        store.FailFind = (1, () => new PostgresException("permission denied for table crm_interactions", "ERROR", "ERROR", "42501"));
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors, typeof(Akka.Event.Error));
        var root = Root(store);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // Not transient: no restart of the scan, the program itself fails. An expected database refusal: one WARNING
        // line (a LogEvent of that level carries no exception, so no stack trace), and no ERROR.
        await EventFilter.Warning(start: "reminder_worker failed: scanning for due reminders failed: 42501: permission denied for table crm_interactions")
            .ExpectOneAsync(Wait, async () =>
            {
                root.Tell(new ToProgram(Name, new RunScan("test")));
                Assert.Contains("permission denied", (await ExpectMsgAsync<ScanFailed>(Wait)).Reason);
            });
        Assert.Equal([Exited, Starting, Running], await StatesAsync(3));
        errors.ExpectNoMsg(TimeSpan.Zero); // the failure's log line came before its transition: an ERROR would be here

        var exited = (await root.Ask<EventsReport>(new GetEvents(Name), Wait)).Events.Single(e => e.To == Exited);
        Assert.Contains("42501: permission denied for table crm_interactions", exited.Description);
        Assert.Equal(0, (await StatusAsync(root)).FailedStarts);
        root.Tell(new ToProgram(Name, new RunScan("again")));
        Assert.Equal(5, (await ExpectMsgAsync<ScanCompleted>(Wait)).Report.Outcome.Written);
        Assert.Equal(2, store.Finds);
    }

    [Fact]
    public async Task Should_stay_RUNNING_and_restart_the_writer_with_backoff_on_a_transient_error()
    {
        var store = await StoreAsync(due: 25);
        store.FailWrite = (2, () => new IOException("injected: connection reset"));
        var root = Root(store, reminders: Reminders with { Writers = 1 }); // batches in order: the first commits, the second fails
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // One WARNING line for the restart, without a stack trace (Akka's own failure log is off).
        await EventFilter.Warning(start: "writer-1 failed on a transient database error, restarting it with backoff: writing a batch failed; it was rolled back whole: injected: connection reset")
            .ExpectOneAsync(Wait, async () =>
            {
                root.Tell(new ToProgram(Name, new RunScan("test")));
                Assert.Contains("connection reset", (await ExpectMsgAsync<ScanFailed>(Wait)).Reason);
            });
        Assert.Equal(10, await NotificationsAsync()); // the first batch, whole

        await Eventually.HoldsAsync(async () =>
        {
            root.Tell(new ToProgram(Name, new RunScan("retry")));
            return await ExpectMsgAsync<object>(Wait) is ScanCompleted;
        }, Wait, "a scan completes once the writer is back");
        Assert.Equal(25, await NotificationsAsync());
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200)); // never left RUNNING
        Assert.Equal(Running, (await StatusAsync(root)).State);
    }

    [Fact]
    public async Task Should_exit_the_program_when_the_transient_budget_is_spent()
    {
        var store = await StoreAsync(due: 5);
        store.FailWritesFrom = (1, () => new IOException("injected: database gone"));
        var root = Root(store, reminders: Reminders with { TransientRetries = 1 });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // First failure: one restart of the writer (the budget); second: the budget is spent, the program exits.
        root.Tell(new ToProgram(Name, new RunScan("1")));
        await ExpectMsgAsync<ScanFailed>(Wait);
        await Eventually.HoldsAsync(async () =>
        {
            root.Tell(new ToProgram(Name, new RunScan("again")));
            await ExpectMsgAsync<ScanFailed>(Wait);
            return store.Writes >= 2;
        }, Wait, "the restarted writer fails again");

        Assert.Equal([Exited, Starting, Running], await StatesAsync(3));
    }

    [Fact]
    public async Task Should_let_the_batch_in_flight_finish_within_stopwaitsecs()
    {
        var store = await StoreAsync(due: 5);
        store.WriteDelay = TimeSpan.FromMilliseconds(500);
        var root = Root(store);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        root.Tell(new ToProgram(Name, new RunScan("test")));
        await Eventually.HoldsAsync(() => Task.FromResult(store.Writes == 1), Wait, "the batch is in flight");
        Assert.Equal("reminder_worker: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());

        Assert.Equal((1, 0), (store.CommittedWrites, store.CancelledWrites));
        Assert.Equal(5, await NotificationsAsync());
    }

    [Fact]
    public async Task Should_stop_at_once_while_the_scan_waits_to_restart_instead_of_waiting_stopwaitsecs()
    {
        var store = await StoreAsync(due: 5);
        store.FailFinds = () => new IOException("injected: connection reset"); // transient: the scan restarts with backoff
        // The scan waits a minute to restart; stopwaitsecs is far longer than the wait for the stop's answer.
        var root = Root(store, Fast with { StopWaitSecs = TimeSpan.FromMinutes(2) },
            Reminders with { MinBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) });
        Assert.Equal([Starting, Running], await StatesAsync(2));
        root.Tell(new ToProgram(Name, new RunScan("test")));
        Assert.Contains("connection reset", (await ExpectMsgAsync<ScanFailed>(Wait)).Reason);
        // A probe sent while the failed scan is still being stopped is lost with it: ask again until its supervisor answers.
        await Eventually.HoldsAsync(async () =>
        {
            root.Tell(new ToProgram(Name, new RunScan("probe")));
            return await ReceiveOneAsync(TimeSpan.FromSeconds(1)) is ScanFailed { Trigger: "restarting" };
        }, Wait, "the scan waits to restart");

        Assert.Equal("reminder_worker: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());
        Assert.Equal([Stopping, Stopped], await StatesAsync(2));
    }

    /// <summary>The store's write hangs before any transaction opens: this proves the cancellation, not the rollback;
    /// ReminderWorkerSupervisionPostgresTests proves the rollback of a transaction really open on PostgreSQL.</summary>
    [Fact]
    public async Task Should_roll_back_a_batch_that_outlives_stopwaitsecs()
    {
        var store = await StoreAsync(due: 5);
        store.HangWrites = true;
        var root = Root(store, Fast with { StopWaitSecs = TimeSpan.FromMilliseconds(300) });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        root.Tell(new ToProgram(Name, new RunScan("test")));
        await Eventually.HoldsAsync(() => Task.FromResult(store.Writes == 1), Wait, "the batch is in flight");
        Assert.Equal("reminder_worker: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());

        await Eventually.HoldsAsync(() => Task.FromResult(store.CancelledWrites == 1), Wait, "the hung batch is cancelled");
        Assert.Equal(0, store.CommittedWrites);
        Assert.Equal(0, await NotificationsAsync());
    }
}
