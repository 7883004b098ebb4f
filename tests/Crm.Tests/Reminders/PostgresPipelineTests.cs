using Akka.Actor;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Tests.Support;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

/// <summary>The reminder_worker program (scan, writer, their supervision) against a real PostgreSQL.</summary>
[Trait("Category", "Integration")]
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
    public async Task Should_write_every_column_of_the_notification_row_as_SPEC_1_says_on_the_CRM_schema()
    {
        await _db.ExecuteAsync($$"""
            {{CrmRows.Users(7, 8)}}
            {{CrmRows.Organisation}}
            INSERT INTO crm_interactions (id, {{CrmRows.InteractionColumns}}, title, status, assignee_id, next_action_at)
            VALUES (42, {{CrmRows.InteractionValues(7)}}, 'Appeler ACME', 'todo', 7, '2026-01-15 09:30:00+00'),
                   (43, {{CrmRows.InteractionValues(7)}}, 'Relancer {id} le {date} à {time}: {title}', 'in_progress', 8, '2026-07-01 06:05:00+00');
            """);
        await using var store = _db.Store();

        Worker(store, 10).Tell(new RunScan("test"));
        var report = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal((2, 2, 0), (report.Found, report.Outcome.Written, report.Outcome.Skipped));
        var rows = await _db.RowsAsync("""
            SELECT n.*, n.type::text AS type_label, n.priority::text AS priority_label, n.metadata::text AS metadata_text,
                   i.notified_at, now() AS read_time
            FROM notifications n JOIN crm_interactions i ON i.id = n.resource_id ORDER BY n.resource_id
            """);
        var row = rows[0];
        var columns = row.Keys.Except(["type_label", "priority_label", "metadata_text", "notified_at", "read_time"]).Order();
        Assert.Equal(
            ["archived_at", "created_at", "expires_at", "id", "is_archived", "is_read", "link", "message", "metadata", "priority",
             "read_at", "resource_id", "resource_type", "title", "type", "updated_at", "user_id"],
            columns);
        Assert.Equal(7, row["user_id"]);
        Assert.Equal("TASK_DUE", row["type_label"]);
        Assert.Equal("HIGH", row["priority_label"]);
        Assert.Equal("Rappel: Appeler ACME", row["title"]);
        Assert.Equal("Action prévue le 15/01/2026 à 10:30", row["message"]);
        Assert.Equal("/dashboard/inbox?interaction_id=42", row["link"]);
        Assert.Equal("interaction", row["resource_type"]);
        Assert.Equal(42, row["resource_id"]);
        using (var metadata = System.Text.Json.JsonDocument.Parse((string)row["metadata_text"]!))
            Assert.Equal("2026-01-15T09:30:00.000000Z", metadata.RootElement.GetProperty("next_action_at").GetString());
        Assert.Equal(false, row["is_read"]);
        Assert.Equal(false, row["is_archived"]);
        Assert.Null(row["read_at"]);
        Assert.Null(row["archived_at"]);
        Assert.Null(row["expires_at"]);
        // The transaction's time: the same instant as notified_at, set in the same statement.
        Assert.Equal(row["notified_at"], row["created_at"]);
        Assert.Equal(row["notified_at"], row["updated_at"]);
        Assert.True((DateTime)row["read_time"]! - (DateTime)row["created_at"]! < TimeSpan.FromMinutes(5));

        var braces = rows[1];
        Assert.Equal(8, braces["user_id"]);
        Assert.Equal("Rappel: Relancer {id} le {date} à {time}: {title}", braces["title"]);
        Assert.Equal("Action prévue le 01/07/2026 à 08:05", braces["message"]);
        Assert.Equal("/dashboard/inbox?interaction_id=43", braces["link"]);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
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

    /// <summary>
    /// Runs a scan that must fail the program: the writer's error is escalated (the program exits), logged with
    /// the database's message. Whoever asked hears that the scan ended, with that message or as "stopped".
    /// </summary>
    private async Task ExpectProgramFailureAsync(IActorRef worker, string because)
    {
        await EventFilter.Exception<ReminderPipelineException>(contains: because).ExpectOneAsync(Long, async () =>
        {
            worker.Tell(new RunScan("doomed"));
            await ExpectMsgAsync<ScanFailed>(Long);
        });
    }

    [Fact]
    public async Task Should_fail_and_skip_nothing_when_a_NOT_NULL_column_is_added_to_notifications_while_running()
    {
        await using var store = _db.Store();
        var worker = Worker(store, 10);
        worker.Tell(new RunScan("before"));
        await ExpectMsgAsync<ScanCompleted>(Long); // verified and running
        await _db.SeedBacklogAsync(due: 30);
        await _db.ExecuteAsync("ALTER TABLE notifications ADD COLUMN channel varchar(20) NOT NULL");

        await ExpectProgramFailureAsync(worker, "column \"channel\"");

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_actors.skipped_occurrences"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
        Assert.Equal(30, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
    }

    [Fact]
    public async Task Should_fail_and_skip_nothing_when_every_row_of_a_batch_meets_the_same_new_check()
    {
        await _db.SeedBacklogAsync(due: 30);
        await _db.ExecuteAsync("ALTER TABLE notifications ADD CONSTRAINT short_titles CHECK (length(title) < 10)");
        await using var store = _db.Store();

        await ExpectProgramFailureAsync(Worker(store, 10), "short_titles");

        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_actors.skipped_occurrences"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
    }

    [Fact]
    public async Task Should_refuse_to_start_or_fail_and_skip_nothing_when_the_role_lacks_INSERT_on_notifications()
    {
        var role = $"r_{Guid.NewGuid():N}"[..20];
        await _db.ExecuteAsync($"""
            CREATE ROLE {role} LOGIN;
            GRANT USAGE ON SCHEMA crm_actors TO {role};
            GRANT SELECT, UPDATE ON crm_interactions TO {role};
            GRANT SELECT, INSERT ON notifications TO {role};
            GRANT SELECT, INSERT ON crm_actors.skipped_occurrences TO {role};
            """);
        try
        {
            await using var store = new Crm.Actors.Storage.PostgresReminderStore(
                new Npgsql.NpgsqlConnectionStringBuilder(_db.Connection.ConnectionString) { Username = role });
            var worker = Worker(store, 10);
            worker.Tell(new RunScan("before"));
            await ExpectMsgAsync<ScanCompleted>(Long); // verified and running

            // Revoked while running: every batch is refused, nothing is parked.
            await _db.ExecuteAsync($"REVOKE INSERT ON notifications FROM {role}");
            await _db.SeedBacklogAsync(due: 30);
            await ExpectProgramFailureAsync(worker, "permission denied for table notifications");
            Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_actors.skipped_occurrences"));
            Assert.Equal(30, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));

            // Missing at start: the program refuses to start, naming the privilege.
            var refused = await Assert.ThrowsAsync<Crm.Actors.Storage.StoreNotReadyException>(() => store.VerifyAsync(NotificationTemplate.Default));
            Assert.Contains($"role {role} lacks INSERT on notifications", refused.Message);
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await _db.ExecuteAsync($"DROP OWNED BY {role}; DROP ROLE {role};");
        }
    }

    [Fact]
    public async Task Should_park_the_extreme_dates_it_cannot_represent_and_write_the_rest_of_the_backlog()
    {
        await _db.SeedBacklogAsync(due: 50, notDue: 3);
        // Every extreme PostgreSQL accepts: the due ones below year 1 are parked, year 1 itself is written, the
        // future ones are not due.
        await _db.ExecuteAsync("""
            UPDATE crm_interactions SET next_action_at = '-infinity' WHERE id = 3;
            UPDATE crm_interactions SET next_action_at = '4713-01-01 00:00:00+00 BC' WHERE id = 7;
            UPDATE crm_interactions SET next_action_at = '0044-03-15 12:00:00+00 BC' WHERE id = 8;
            UPDATE crm_interactions SET next_action_at = '0001-01-01 00:00:00+00' WHERE id = 9;
            UPDATE crm_interactions SET next_action_at = '0001-01-01 00:00:00.000001+00' WHERE id = 10;
            UPDATE crm_interactions SET next_action_at = 'infinity' WHERE id = 51;
            UPDATE crm_interactions SET next_action_at = '294276-12-31 23:59:59+00' WHERE id = 52;
            UPDATE crm_interactions SET next_action_at = '9999-12-31 23:59:59.999999+00' WHERE id = 53;
            """);
        await using var store = _db.Store();
        var worker = Worker(store, 10);

        worker.Tell(new RunScan("first"));
        var first = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;
        worker.Tell(new RunScan("second"));
        var second = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;

        Assert.Equal((47, 3), (first.Outcome.Written, first.Outcome.Skipped));
        Assert.Equal((0, 0, 0), (second.Found, second.Outcome.Written, second.Outcome.Skipped)); // reported once
        Assert.Equal([3, 7, 8], (await _db.RowsAsync("SELECT interaction_id FROM crm_actors.skipped_occurrences ORDER BY 1"))
            .Select(r => (int)r["interaction_id"]!));
        await _db.AssertExactlyOnceAsync(47);
        Assert.Equal("0001-01-01T00:00:00.000000Z", await _db.ScalarAsync<string>(
            "SELECT metadata->>'next_action_at' FROM notifications WHERE resource_id = 9"));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE id > 50 AND notified_at IS NOT NULL"));
    }

    [Fact]
    public async Task Should_announce_each_committed_notification_once_on_the_push_channel_and_nothing_rolled_back()
    {
        await _db.SeedBacklogAsync(due: 30);
        await _db.ExecuteAsync("""
            UPDATE crm_interactions SET title = 'POISON' WHERE id = 17;
            ALTER TABLE notifications ADD CONSTRAINT no_poison CHECK (title <> 'Rappel: POISON');
            """);
        var announced = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var listener = new Npgsql.NpgsqlConnection(_db.Connection.ConnectionString);
        await listener.OpenAsync();
        listener.Notification += (_, e) => { if (e.Channel == "crm_notifications") announced.Enqueue(e.Payload); };
        await using (var listen = new Npgsql.NpgsqlCommand("LISTEN crm_notifications", listener))
            await listen.ExecuteNonQueryAsync();
        await using var store = new Crm.Actors.Storage.PostgresReminderStore(_db.Connection, "crm_notifications");

        Worker(store, 10).Tell(new RunScan("push"));
        var report = (await ExpectMsgAsync<ScanCompleted>(Long)).Report;
        Assert.Equal((29, 1), (report.Outcome.Written, report.Outcome.Skipped));
        // The batch that held the bad row was tried whole first and rolled back: its rows were not announced then.
        await Eventually.HoldsAsync(async () =>
        {
            await listener.WaitAsync(TimeSpan.FromMilliseconds(200));
            return announced.Count >= 29;
        }, Long, "29 announcements");
        await listener.WaitAsync(TimeSpan.FromMilliseconds(300)); // any extra one would arrive with the others

        var rows = await _db.RowsAsync("SELECT id, user_id, type::text AS type, link FROM notifications");
        var expected = rows.Select(r => $"{r["id"]}|{r["user_id"]}|{r["type"]}|{r["link"]}").Order().ToList();
        var payloads = announced.Select(p =>
        {
            using var json = System.Text.Json.JsonDocument.Parse(p);
            var e = json.RootElement;
            Assert.Equal(["id", "user_id", "type", "link"], e.EnumerateObject().Select(o => o.Name));
            return $"{e.GetProperty("id").GetInt32()}|{e.GetProperty("user_id").GetInt32()}|{e.GetProperty("type").GetString()}|{e.GetProperty("link").GetString()}";
        }).Order().ToList();
        Assert.Equal(expected, payloads);
    }
}
