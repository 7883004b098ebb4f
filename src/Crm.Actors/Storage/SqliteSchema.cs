using Crm.Actors.Domain;
using Microsoft.Data.Sqlite;

namespace Crm.Actors.Storage;

/// <summary>
/// The embedded database's tables: the CRM's (reduced to the columns the service reads, and notifications with
/// every column the CRM's own code writes) and the service's own. The service owns this file, so it creates and
/// upgrades them itself at every start.
/// </summary>
public static class SqliteSchema
{
    /// <summary>
    /// Instants are UTC text in one fixed format (<see cref="ReminderOccurrence.FormatInstant"/>: six fractional
    /// digits), so that text order is time order; the CHECKs refuse any other.
    /// </summary>
    public const string InstantGlob = "[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9][0-9][0-9][0-9]Z";

    private const string Now = "strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')";

    private static string Instant(string column) => $"CHECK ({column} IS NULL OR {column} GLOB '{InstantGlob}')";

    private static readonly string Tables = $"""
        PRAGMA journal_mode = WAL;
        CREATE TABLE IF NOT EXISTS users (
            id        INTEGER PRIMARY KEY,
            email     TEXT NOT NULL UNIQUE,
            full_name TEXT,
            is_active INTEGER NOT NULL DEFAULT 1);
        CREATE TABLE IF NOT EXISTS crm_interactions (
            id             INTEGER PRIMARY KEY,
            title          TEXT NOT NULL CHECK (length(title) <= 200),
            status         TEXT NOT NULL DEFAULT 'todo' CHECK (status IN ('todo', 'in_progress', 'done')),
            assignee_id    INTEGER REFERENCES users(id) ON DELETE SET NULL,
            next_action_at TEXT {Instant("next_action_at")},
            notified_at    TEXT {Instant("notified_at")},
            created_at     TEXT NOT NULL DEFAULT ({Now}));
        CREATE INDEX IF NOT EXISTS ix_crm_interactions_reminder_due ON crm_interactions (next_action_at, id)
            WHERE {DueRule.IndexPredicate};
        CREATE TABLE IF NOT EXISTS notifications (
            id                  INTEGER PRIMARY KEY,
            user_id             INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            type                TEXT NOT NULL,
            priority            TEXT NOT NULL,
            title               TEXT NOT NULL,
            message             TEXT,
            link                TEXT,
            resource_type       TEXT,
            resource_id         INTEGER,
            metadata            TEXT,
            reminder_occurrence TEXT UNIQUE,
            is_read             INTEGER,
            read_at             TEXT,
            is_archived         INTEGER,
            archived_at         TEXT,
            expires_at          TEXT,
            created_at          TEXT NOT NULL,
            updated_at          TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS skipped_occurrences (
            interaction_id INTEGER NOT NULL,
            next_action_at TEXT NOT NULL,
            reason         TEXT NOT NULL,
            skipped_at     TEXT NOT NULL DEFAULT ({Now}),
            PRIMARY KEY (interaction_id, next_action_at));
        {string.Join(";\n", JournalSchema.Statements(JournalSchema.Sqlite))};
        """;

    /// <summary>Columns added to notifications since the first version: a file made by it gets them (nullable).</summary>
    private static readonly (string Column, string Type)[] AddedColumns =
        [("read_at", "TEXT"), ("is_archived", "INTEGER"), ("archived_at", "TEXT"), ("expires_at", "TEXT"), ("updated_at", "TEXT")];

    public static async Task MigrateAsync(SqliteConnection connection, CancellationToken ct = default)
    {
        await using (var command = new SqliteCommand(Tables, connection))
            await command.ExecuteNonQueryAsync(ct);
        await using var columns = new SqliteCommand("SELECT name FROM pragma_table_info('notifications')", connection);
        var present = new HashSet<string>();
        await using (var reader = await columns.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) present.Add(reader.GetString(0));
        foreach (var (column, type) in AddedColumns.Where(c => !present.Contains(c.Column)))
        {
            await using var add = new SqliteCommand($"ALTER TABLE notifications ADD COLUMN {column} {type}", connection);
            await add.ExecuteNonQueryAsync(ct);
        }
    }

    public static async Task VerifyAsync(SqliteConnection connection, string description, CancellationToken ct = default)
    {
        await using var command = new SqliteCommand(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('crm_interactions', 'notifications', 'skipped_occurrences')",
            connection);
        if (Convert.ToInt32(await command.ExecuteScalarAsync(ct)) != 3)
            throw new StoreNotReadyException($"{description} has no crm-actors tables");
    }
}
