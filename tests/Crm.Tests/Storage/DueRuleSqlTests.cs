using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Tests.Domain;
using Crm.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Crm.Tests.Storage;

/// <summary>The SQL of both stores decides every case of the due rule as <see cref="DueRule.IsDue"/> does.</summary>
[Trait("Category", "Integration")]
public class DueRuleSqlTests
{
    [Fact]
    public async Task Should_find_exactly_the_due_cases_in_PostgreSQL()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync(CrmRows.Users(7) + CrmRows.Organisation);
        var ids = new Dictionary<int, DueCases.DueCase>();
        var id = 0;
        foreach (var c in DueCases.All)
        {
            ids[++id] = c;
            var at = c.NextActionOffset is { } o ? $"now() + interval '{o.TotalSeconds} seconds'" : "NULL";
            await db.ExecuteAsync($"""
                INSERT INTO crm_interactions (id, {CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at, notified_at)
                VALUES ({id}, {CrmRows.InteractionValues(7)}, '{c.Name}', '{c.Status}', {(c.Assigned ? "7" : "NULL")}, {at}, {(c.Notified ? "now()" : "NULL")})
                """);
        }
        await using var store = db.Store();

        var found = await store.FindDueAsync(null, 100);

        Assert.Equal(ids.Where(p => p.Value.Due).Select(p => p.Key).Order(), found.Select(o => o.Id).Order());
    }

    [Fact]
    public async Task Should_find_exactly_the_due_cases_in_SQLite()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-sqlite-").FullName, "crm.db");
        var now = DateTimeOffset.UtcNow;
        await using var store = new SqliteReminderStore(path);
        await store.MigrateAsync();
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await Execute(connection, "INSERT INTO users (id, email) VALUES (7, 'a@example.com')");
        var ids = new Dictionary<int, DueCases.DueCase>();
        var id = 0;
        foreach (var c in DueCases.All)
        {
            ids[++id] = c;
            await Execute(connection,
                "INSERT INTO crm_interactions (id, title, status, assignee_id, next_action_at, notified_at) VALUES (@id, @title, @status, @assignee, @at, @notified)",
                ("@id", id), ("@title", c.Name), ("@status", c.Status), ("@assignee", c.Assigned ? 7 : DBNull.Value),
                ("@at", c.NextActionOffset is { } o ? ReminderOccurrence.FormatInstant(now + o) : DBNull.Value),
                ("@notified", c.Notified ? ReminderOccurrence.FormatInstant(now) : DBNull.Value));
        }

        var found = await store.FindDueAsync(null, 100);

        Assert.Equal(ids.Where(p => p.Value.Due).Select(p => p.Key).Order(), found.Select(o => o.Id).Order());
    }

    internal static async Task Execute(SqliteConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        await using var command = new SqliteCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await command.ExecuteNonQueryAsync();
    }
}
