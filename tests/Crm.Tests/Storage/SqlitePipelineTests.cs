using Akka.Actor;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Microsoft.Data.Sqlite;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Storage;

/// <summary>The reminder_worker program on the embedded SQLite store.</summary>
public sealed class SqlitePipelineTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly string _path = Path.Combine(Directory.CreateTempSubdirectory("crm-sqlite-").FullName, "crm.db");

    private async Task SeedAsync(int due)
    {
        await using var connection = new SqliteConnection($"Data Source={_path}");
        await connection.OpenAsync();
        await DueRuleSqlTests.Execute(connection, "INSERT INTO users (id, email) VALUES (1, 'a@example.com')");
        await DueRuleSqlTests.Execute(connection, """
            WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < @due)
            INSERT INTO crm_interactions (title, status, assignee_id, next_action_at)
            SELECT 'Interaction ' || n, 'todo', 1, strftime('%Y-%m-%dT%H:%M:%f000Z', 'now', '-' || n || ' minutes') FROM g
            """, ("@due", due));
    }

    private async Task<long> CountAsync(string sql)
    {
        await using var connection = new SqliteConnection($"Data Source={_path}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Should_write_each_occurrence_once_when_two_pipelines_share_the_file()
    {
        await using var a = new SqliteReminderStore(_path);
        await using var b = new SqliteReminderStore(_path);
        await a.MigrateAsync();
        await SeedAsync(2_000);
        var settings = ReminderSettings.Default with { BatchSize = 100 };
        var probeA = CreateTestProbe();
        var probeB = CreateTestProbe();

        Sys.ActorOf(ReminderWorkerActor.Props(a, settings, periodic: false)).Tell(new RunScan("a"), probeA);
        Sys.ActorOf(ReminderWorkerActor.Props(b, settings, periodic: false)).Tell(new RunScan("b"), probeB);
        var written = (await probeA.ExpectMsgAsync<ScanCompleted>(TimeSpan.FromSeconds(60))).Report.Outcome.Written
                      + (await probeB.ExpectMsgAsync<ScanCompleted>(TimeSpan.FromSeconds(60))).Report.Outcome.Written;

        Assert.Equal(2_000, written);
        Assert.Equal(2_000, await CountAsync("SELECT count(DISTINCT reminder_occurrence) FROM notifications"));
        Assert.Equal(2_000, await CountAsync("SELECT count(*) FROM notifications"));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
    }

    [Fact]
    public async Task Should_seed_a_demo_whose_reminders_come_due_over_its_first_minutes_none_already_late()
    {
        await using var store = new SqliteReminderStore(_path);
        await store.MigrateAsync();
        await SqliteDemoSeed.SeedAsync(_path, TimeProvider.System);
        Assert.Empty(await store.FindDueAsync(null, 100)); // nothing late at the start: the dashboard's lateness stays true

        // Seeded as if 10 s ago: the first one is due; the others come in the next three minutes.
        await CountAsync("DELETE FROM crm_interactions");
        await SqliteDemoSeed.SeedAsync(_path, new ShiftedClock(TimeSpan.FromSeconds(-10)));
        var due = await store.FindDueAsync(null, 100);
        Assert.Single(due);
        var outlook = await store.OutlookAsync();
        Assert.InRange(outlook.NextDueIn ?? TimeSpan.MaxValue, TimeSpan.Zero, TimeSpan.FromSeconds(15));
        await SqliteDemoSeed.SeedAsync(_path, new ShiftedClock(-SqliteDemoSeed.Span - TimeSpan.FromSeconds(1)));
        Assert.Equal(1 + SqliteDemoSeed.Reminders, (await store.FindDueAsync(null, 100)).Count);
        due = await store.FindDueAsync(null, 100);
        var result = await store.WriteAsync(due, NotificationTemplate.Default);
        Assert.Equal((due.Count, 0), (result.Written, result.NotDue));
        Assert.Equal(due.Select(d => d.Id).Order(), result.WrittenIds.Order());
        Assert.Empty(await store.FindDueAsync(null, 100));
    }

    [Fact]
    public async Task Should_refuse_and_mark_nothing_when_the_insert_meets_a_NOT_NULL_column_it_does_not_fill()
    {
        await using var store = new SqliteReminderStore(_path);
        await store.MigrateAsync();
        await SeedAsync(due: 3);
        // INSERT OR IGNORE used to swallow this, and the interactions were marked notified all the same.
        await CountAsync("""
            DROP TABLE notifications;
            CREATE TABLE notifications (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, type TEXT NOT NULL, priority TEXT NOT NULL,
              title TEXT NOT NULL, message TEXT, link TEXT, resource_type TEXT, resource_id INTEGER, metadata TEXT,
              reminder_occurrence TEXT UNIQUE, is_read INTEGER, read_at TEXT, is_archived INTEGER, archived_at TEXT,
              expires_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, channel TEXT NOT NULL);
            SELECT 0;
            """);
        var due = await store.FindDueAsync(null, 100);

        var refused = await Assert.ThrowsAsync<RowRejectedException>(() => store.WriteAsync(due, NotificationTemplate.Default));

        Assert.True(refused.Systemic);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM notifications"));
        Assert.Equal(3, await CountAsync("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL"));
    }

    [Fact]
    public async Task Should_store_instants_in_one_fixed_format_and_refuse_any_other()
    {
        await using var store = new SqliteReminderStore(_path);
        await store.MigrateAsync();
        await SeedAsync(due: 1);
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM crm_interactions WHERE created_at GLOB '{SqliteSchema.InstantGlob}'"));

        var error = await Assert.ThrowsAsync<SqliteException>(() => CountAsync(
            "INSERT INTO crm_interactions (title, status, assignee_id, next_action_at) VALUES ('x', 'todo', 1, '2026-01-15 09:30:00'); SELECT 0"));
        Assert.Contains("CHECK", error.Message);

        await store.WriteAsync(await store.FindDueAsync(null, 10), NotificationTemplate.Default);
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM crm_interactions WHERE notified_at GLOB '{SqliteSchema.InstantGlob}'"));
        Assert.Equal(1, await CountAsync($"SELECT count(*) FROM notifications WHERE created_at = updated_at AND created_at GLOB '{SqliteSchema.InstantGlob}'"));
    }
}

/// <summary>The system clock, moved by <paramref name="shift"/>.</summary>
file sealed class ShiftedClock(TimeSpan shift) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + shift;
}
