using Akka.Actor;
using Crm.Actors.Reminders;
using Crm.Tests.Support;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

/// <summary>The reminder_worker program (scan, writer, their supervision) against a real PostgreSQL.</summary>
public sealed class PostgresPipelineTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await PostgresServer.CreateDatabaseAsync();

    async Task IAsyncLifetime.DisposeAsync() => await _db.DisposeAsync();

    private static ReminderSettings Settings(int batchSize, int writers) => ReminderSettings.Default with { BatchSize = batchSize, Writers = writers };

    private IActorRef Worker(Crm.Actors.Storage.IReminderStore store, int batchSize, int writers = 2) =>
        Sys.ActorOf(ReminderWorkerActor.Props(store, Settings(batchSize, writers), periodic: false));

    [Fact]
    public async Task Should_write_the_notification_row_and_notified_at_for_a_due_reminder()
    {
        await _db.ExecuteAsync("""
            INSERT INTO users (id, email) VALUES (7, 'bob@example.com');
            INSERT INTO organisations (id, name) VALUES (1, 'ACME');
            INSERT INTO crm_interactions (id, org_id, title, created_by, status, assignee_id, next_action_at)
            VALUES (42, 1, 'Appeler ACME', 7, 'todo', 7, '2026-01-15 09:30:00+00');
            """);
        await using var store = _db.Store();

        Worker(store, 10).Tell(new RunScan("test"));
        var report = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal((1, 1, 0), (report.Found, report.Outcome.Written, report.Outcome.Skipped));
        var row = (await _db.RowsAsync("""
            SELECT user_id, type::text, priority::text, title, message, link, resource_type, resource_id,
                   metadata->>'next_action_at' AS next_action_at, is_read
            FROM notifications
            """)).Single();
        Assert.Equal(7, row["user_id"]);
        Assert.Equal("INTERACTION_REMINDER", row["type"]);
        Assert.Equal("HIGH", row["priority"]);
        Assert.Equal("Rappel: Appeler ACME", row["title"]);
        Assert.Equal("Action prévue le 15/01/2026 à 10:30", row["message"]);
        Assert.Equal("/interactions/42", row["link"]);
        Assert.Equal("interaction", row["resource_type"]);
        Assert.Equal(42, row["resource_id"]);
        Assert.Equal("2026-01-15T09:30:00.000000Z", row["next_action_at"]);
        Assert.Equal(false, row["is_read"]);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE id = 42 AND notified_at IS NOT NULL"));
    }

    [Fact]
    public async Task Should_process_a_backlog_in_batches_oldest_first_and_write_nothing_on_a_second_run()
    {
        await _db.SeedBacklogAsync(due: 1_050, notDue: 100);
        await using var store = _db.Store();
        var worker = Worker(store, 100, writers: 1); // one writer: batches commit in the order they are read

        worker.Tell(new RunScan("first"));
        var first = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;
        worker.Tell(new RunScan("second"));
        var second = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal((1_050, 1_050, 11), (first.Found, first.Outcome.Written, first.Batches));
        Assert.Equal((0, 0), (second.Found, second.Outcome.Written));
        await _db.AssertExactlyOnceAsync(1_050);
        // Oldest first: notification ids follow next_action_at order.
        Assert.Equal(0, await _db.ScalarAsync<long>("""
            SELECT count(*) FROM (
              SELECT n.id, lag(i.next_action_at) OVER (ORDER BY n.id) > i.next_action_at AS out_of_order
              FROM notifications n JOIN crm_interactions i ON i.id = n.resource_id) x
            WHERE out_of_order
            """));
    }

    [Fact]
    public async Task Should_write_each_occurrence_once_when_two_pipelines_race_on_a_20000_row_backlog()
    {
        await _db.SeedBacklogAsync(due: 20_000);
        await using var storeA = _db.Store();
        await using var storeB = _db.Store();
        var a = Worker(storeA, 500);
        var b = Worker(storeB, 500);
        var probeA = CreateTestProbe();
        var probeB = CreateTestProbe();

        a.Tell(new RunScan("a"), probeA);
        b.Tell(new RunScan("b"), probeB);
        var reportA = (await probeA.ExpectMsgAsync<ScanCompleted>(Long)).Report;
        var reportB = (await probeB.ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal(20_000, reportA.Outcome.Written + reportB.Outcome.Written);
        await _db.AssertExactlyOnceAsync(20_000);
    }

    [Fact]
    public async Task Should_leave_no_partial_batch_when_the_connection_is_terminated_mid_batch()
    {
        await _db.SeedBacklogAsync(due: 50);
        // The second batch's insert stalls inside its transaction, so that its connection can be cut there.
        await _db.ExecuteAsync("""
            CREATE FUNCTION stall_second_batch() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
              IF (SELECT count(*) FROM notifications) > 20 THEN PERFORM pg_sleep(60); END IF;
              RETURN NULL;
            END $$;
            CREATE TRIGGER stall AFTER INSERT ON notifications FOR EACH STATEMENT EXECUTE FUNCTION stall_second_batch();
            """);
        await using var store = _db.Store();
        var worker = Worker(store, 20, writers: 1);

        worker.Tell(new RunScan("cut"));
        await Eventually.HoldsAsync(
            async () => await _db.ScalarAsync<long>(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO notifications%'") == 1,
            Long, "the second batch stalls in its transaction");
        await _db.ExecuteAsync(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%INSERT INTO notifications%'");

        await ExpectMsgAsync<ScanFailed>(Long);
        await _db.AssertExactlyOnceAsync(20); // the first batch whole, nothing of the second

        // The writer is restarted by its supervisor after a backoff; a scan meanwhile is told so at once, and
        // the first scan after it finishes the backlog.
        await _db.ExecuteAsync("DROP TRIGGER stall ON notifications");
        var written = 0;
        await Eventually.HoldsAsync(async () =>
        {
            worker.Tell(new RunScan("again"));
            var answer = await ExpectMsgAsync<object>(Long);
            if (answer is ScanCompleted done) written = done.Report.Outcome.Written;
            return answer is ScanCompleted;
        }, TimeSpan.FromSeconds(30), "a scan completes once the writer is back");
        Assert.Equal(30, written);
        await _db.AssertExactlyOnceAsync(50);
    }

    [Fact]
    public async Task Should_skip_and_report_once_a_row_the_database_refuses()
    {
        await _db.SeedBacklogAsync(due: 30);
        await _db.ExecuteAsync("""
            UPDATE crm_interactions SET title = 'POISON' WHERE id = 17;
            ALTER TABLE notifications ADD CONSTRAINT no_poison CHECK (title <> 'Rappel: POISON');
            """);
        await using var store = _db.Store();
        var worker = Worker(store, 10);

        worker.Tell(new RunScan("first"));
        var first = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;
        worker.Tell(new RunScan("second"));
        var second = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal((29, 1), (first.Outcome.Written, first.Outcome.Skipped));
        Assert.Equal((0, 0, 0), (second.Found, second.Outcome.Written, second.Outcome.Skipped));
        Assert.Equal(29, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
        var skipped = (await _db.RowsAsync("SELECT interaction_id, reason FROM crm_actors.skipped_occurrences")).Single();
        Assert.Equal(17, skipped["interaction_id"]);
        Assert.Contains("no_poison", (string)skipped["reason"]!);
        Assert.Equal(1, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
    }
}
