using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Tests.Support;

namespace Crm.Tests.Storage;

[Trait("Category", "Integration")]
public class PostgresStoreTests
{
    [Fact]
    public async Task Should_migrate_idempotently_even_when_two_migrations_run_at_once()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        await using var a = db.Store();
        await using var b = db.Store();

        await Task.WhenAll(a.MigrateAsync(), b.MigrateAsync());
        await a.MigrateAsync();

        // The CRM's enums are the CRM's: the migration adds no label.
        Assert.Equal(0, await db.ScalarAsync<long>("""
            SELECT count(*) FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
            WHERE t.typname = 'notificationtype' AND e.enumlabel = 'INTERACTION_REMINDER'
            """));
        Assert.Equal(2, await db.ScalarAsync<long>("""
            SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
            WHERE c.relname IN ('ix_crm_interactions_reminder_due', 'ux_notifications_reminder_occurrence') AND x.indisvalid
            """));
        await a.VerifyAsync(NotificationTemplate.Default);
    }

    [Fact]
    public async Task Should_refuse_to_start_on_a_database_that_is_not_migrated()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        await using var store = db.Store();

        var error = await Assert.ThrowsAsync<StoreNotReadyException>(() => store.VerifyAsync(NotificationTemplate.Default));
        Assert.Contains("--migrate", error.Message);
    }

    [Fact]
    public async Task Should_refuse_to_start_with_a_notification_type_the_enum_lacks()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var store = db.Store();

        var error = await Assert.ThrowsAsync<Crm.Actors.Configuration.ConfigurationException>(
            () => store.VerifyAsync(NotificationTemplate.Default with { NotificationType = "INTERACTION_REMINDER" }));
        Assert.Contains("crm.reminders.notification-type", error.Message);
        Assert.Contains("'INTERACTION_REMINDER'", error.Message);
    }

    [Fact]
    public async Task Should_refuse_to_start_naming_a_NOT_NULL_column_of_notifications_that_it_does_not_write()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync("ALTER TABLE notifications ADD COLUMN channel varchar(20) NOT NULL, ADD COLUMN origin text NOT NULL DEFAULT 'crm'");
        await using var store = db.Store();

        var error = await Assert.ThrowsAsync<StoreNotReadyException>(() => store.VerifyAsync(NotificationTemplate.Default));
        Assert.Contains("channel", error.Message);
        Assert.DoesNotContain("origin", error.Message); // it has a default
    }

    [Fact]
    public async Task Should_refuse_to_start_on_a_database_that_lacks_the_due_index()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync("DROP INDEX ix_crm_interactions_reminder_due");
        await using var store = db.Store();

        var error = await Assert.ThrowsAsync<StoreNotReadyException>(() => store.VerifyAsync(NotificationTemplate.Default));
        Assert.Contains("--migrate", error.Message);
    }

    [Fact]
    public async Task Should_scan_the_due_backlog_through_the_partial_index()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 200, notDue: 20_000);
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = now() WHERE title LIKE 'Later%'; ANALYZE crm_interactions;");

        // The store's own page queries, first and next, as it sends them.
        var plans = new List<string>();
        await using var connection = new Npgsql.NpgsqlConnection(db.Connection.ConnectionString);
        await connection.OpenAsync();
        foreach (var first in new[] { true, false })
        {
            await using var explain = new Npgsql.NpgsqlCommand("EXPLAIN " + PostgresReminderStore.PageSql(first), connection);
            explain.Parameters.AddWithValue("limit", 500);
            explain.Parameters.AddWithValue("after_at", DateTimeOffset.UtcNow.AddDays(-1));
            explain.Parameters.AddWithValue("after_id", 1);
            await using var reader = await explain.ExecuteReaderAsync();
            var lines = new List<string>();
            while (await reader.ReadAsync()) lines.Add(reader.GetString(0));
            plans.Add(string.Join("\n", lines));
        }

        Assert.All(plans, plan => Assert.Contains("ix_crm_interactions_reminder_due", plan));
    }

    [Fact]
    public async Task Should_write_a_second_notification_when_the_CRM_moves_the_date()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 1);
        await using var store = db.Store();
        var first = await store.FindDueAsync(null, 10);
        Assert.Equal(1, (await store.WriteAsync(first, NotificationTemplate.Default)).Written);

        // The CRM clears notified_at when a user moves next_action_at: a new occurrence.
        await db.ExecuteAsync("UPDATE crm_interactions SET next_action_at = next_action_at + interval '10 minutes', notified_at = NULL");
        var second = await store.FindDueAsync(null, 10);
        Assert.Equal(1, (await store.WriteAsync(second, NotificationTemplate.Default)).Written);

        Assert.Equal(2, await db.ScalarAsync<long>("SELECT count(DISTINCT metadata->>'reminder_occurrence') FROM notifications"));
    }

    [Fact]
    public async Task Should_not_write_a_row_changed_since_the_scan_and_write_it_as_it_is_on_the_next()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 2);
        await using var store = db.Store();
        var scanned = await store.FindDueAsync(null, 10);

        await db.ExecuteAsync("UPDATE crm_interactions SET title = 'Renamed' WHERE id = 1");
        var first = await store.WriteAsync(scanned, NotificationTemplate.Default);
        // Still due: counted with the held rows, so that it is looked at again soon, not at the tick.
        Assert.Equal((1, 0, 1), (first.Written, first.NotDue, first.Held));
        Assert.Equal([2], first.WrittenIds);

        var again = await store.FindDueAsync(null, 10);
        var second = await store.WriteAsync(again, NotificationTemplate.Default);
        Assert.Equal((1, 0), (second.Written, second.NotDue));
        Assert.Equal([1], second.WrittenIds);
        Assert.Equal("Rappel: Renamed", await db.ScalarAsync<string>("SELECT title FROM notifications WHERE resource_id = 1"));
    }

    [Fact]
    public async Task Should_count_rows_another_transaction_holds_as_held_and_rows_written_elsewhere_as_no_longer_due()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 10);
        await using var store = db.Store();
        var scanned = await store.FindDueAsync(null, 10);
        // Another instance has written 1 and 2 (committed), and holds 3 to 5 in a transaction still open.
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = now() WHERE id IN (1, 2)");
        await using var holder = new Npgsql.NpgsqlConnection(db.Connection.ConnectionString);
        await holder.OpenAsync();
        await using var holding = await holder.BeginTransactionAsync();
        await using (var hold = new Npgsql.NpgsqlCommand("SELECT count(*) FROM (SELECT id FROM crm_interactions WHERE id BETWEEN 3 AND 5 FOR UPDATE) x",
                         holder, holding))
            Assert.Equal(3L, await hold.ExecuteScalarAsync());

        var result = await store.WriteAsync(scanned, NotificationTemplate.Default);

        Assert.Equal((5, 2, 3), (result.Written, result.NotDue, result.Held));
        Assert.Equal([6, 7, 8, 9, 10], result.WrittenIds.Order());
        await holding.RollbackAsync(); // a dead node's batch: nothing of it stays, the rows are due again
        var again = await store.WriteAsync(await store.FindDueAsync(null, 10), NotificationTemplate.Default);
        Assert.Equal((3, 0, 0), (again.Written, again.NotDue, again.Held));
    }

    [Fact]
    public async Task Should_never_write_a_second_notification_for_the_same_occurrence()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 3);
        await using var store = db.Store();
        var due = await store.FindDueAsync(null, 10);
        await store.WriteAsync(due, NotificationTemplate.Default);

        // Someone clears notified_at without moving the date: the same occurrence, already notified.
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = NULL");
        var again = await store.WriteAsync(await store.FindDueAsync(null, 10), NotificationTemplate.Default);

        Assert.Equal(3, await db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
        Assert.Equal(3, await db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NOT NULL"));
        Assert.Equal(0, again.Written); // marked notified again, with no new row: the unique index held
    }
}
