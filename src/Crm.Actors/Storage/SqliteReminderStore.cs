using System.Text.Json;
using Crm.Actors.Reminders;
using Microsoft.Data.Sqlite;

namespace Crm.Actors.Storage;

/// <summary>
/// The embedded default: one SQLite file whose tables (the CRM's, reduced to the columns the service uses)
/// the service creates itself. Instants are stored as UTC text in one fixed format, so text order is time order.
/// Exactly once: SQLite has one writer at a time (BEGIN IMMEDIATE), the due rule is re-checked inside the
/// writing transaction, and a unique column on the occurrence key refuses a second notification.
/// </summary>
public sealed class SqliteReminderStore : IReminderStore
{
    private readonly string _connectionString;
    private readonly TimeProvider _clock;

    public SqliteReminderStore(string path, TimeProvider? clock = null)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = full, DefaultTimeout = 30, Pooling = true }.ToString();
        _clock = clock ?? TimeProvider.System;
        Description = $"sqlite:{full}";
    }

    public string Description { get; }

    private static readonly string Due = DueRule.SqlPredicate("@now");

    private const string NotSkipped =
        "NOT EXISTS (SELECT 1 FROM skipped_occurrences s WHERE s.interaction_id = i.id AND s.next_action_at = i.next_action_at)";

    private const string Schema = """
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
            next_action_at TEXT,
            notified_at    TEXT,
            created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')));
        CREATE INDEX IF NOT EXISTS ix_crm_interactions_reminder_due ON crm_interactions (next_action_at, id)
            WHERE notified_at IS NULL AND assignee_id IS NOT NULL AND status IN ('todo', 'in_progress');
        CREATE TABLE IF NOT EXISTS notifications (
            id                  INTEGER PRIMARY KEY,
            user_id             INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            type                TEXT NOT NULL,
            priority            TEXT NOT NULL DEFAULT 'NORMAL',
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
            skipped_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            PRIMARY KEY (interaction_id, next_action_at));
        -- The supervisor's journal (Akka.Persistence.Sql's own layout).
        CREATE TABLE IF NOT EXISTS journal (
            ordering        INTEGER       NOT NULL PRIMARY KEY AUTOINCREMENT,
            created         INTEGER       NOT NULL,
            deleted         Bit           NOT NULL,
            persistence_id  NVarChar(255) NOT NULL,
            sequence_number INTEGER       NOT NULL,
            message         VarBinary     NOT NULL,
            manifest        NVarChar(500) NULL,
            identifier      INTEGER       NULL,
            writer_uuid     NVarChar(128) NULL);
        CREATE UNIQUE INDEX IF NOT EXISTS journal_uq ON journal (persistence_id, sequence_number);
        CREATE INDEX IF NOT EXISTS journal_created_idx ON journal (created);
        CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON journal (sequence_number);
        CREATE TABLE IF NOT EXISTS tags (
            ordering_id    INTEGER       NOT NULL,
            tag            NVarChar(64)  NOT NULL,
            sequence_nr    INTEGER       NOT NULL,
            persistence_id NVarChar(255) NOT NULL,
            CONSTRAINT PK_tags PRIMARY KEY (ordering_id, tag));
        CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON tags (persistence_id, sequence_nr);
        CREATE INDEX IF NOT EXISTS tags_tag_idx ON tags (tag);
        """;

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand(Schema, connection);
        await command.ExecuteNonQueryAsync(ct);
        // A file made by an earlier version lacks the columns added since (SQLite adds them nullable).
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

    private static readonly (string Column, string Type)[] AddedColumns =
        [("read_at", "TEXT"), ("is_archived", "INTEGER"), ("archived_at", "TEXT"), ("expires_at", "TEXT"), ("updated_at", "TEXT")];

    public async Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('crm_interactions', 'notifications', 'skipped_occurrences')",
            connection);
        if (Convert.ToInt32(await command.ExecuteScalarAsync(ct)) != 3)
            throw new StoreNotReadyException($"{Description} has no crm-actors tables");
    }

    public async Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        var sql = $"""
            SELECT i.id, i.title, i.assignee_id, i.next_action_at FROM crm_interactions i
            WHERE {Due} AND {NotSkipped}
              {(after is null ? "" : "AND (i.next_action_at > @after_at OR (i.next_action_at = @after_at AND i.id > @after_id))")}
            ORDER BY i.next_action_at, i.id
            LIMIT @limit
            """;
        await using var command = new SqliteCommand(sql, connection);
        command.Parameters.AddWithValue("@now", Now());
        command.Parameters.AddWithValue("@limit", limit);
        if (after is not null)
        {
            command.Parameters.AddWithValue("@after_at", ReminderOccurrence.FormatInstant(after.NextActionAt));
            command.Parameters.AddWithValue("@after_id", after.InteractionId);
        }
        return await ReadRowsAsync(command, limit, ct);
    }

    public async Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        // BEGIN IMMEDIATE: this transaction is the only writer until it ends, so the re-check below holds.
        await using var transaction = (SqliteTransaction)await connection.BeginTransactionAsync(ct);
        try
        {
            var locked = await StillDueAsync(connection, transaction, batch, ct);
            var now = Now(); // the transaction's time, as PostgreSQL's now()
            var inserted = new List<int>(locked.Count);
            foreach (var row in locked.Select(r => NotificationComposer.Compose(r, template)))
            {
                await using var insert = new SqliteCommand("""
                    INSERT INTO notifications
                      (user_id, type, priority, title, message, link, resource_type, resource_id, metadata, reminder_occurrence,
                       is_read, is_archived, created_at, updated_at)
                    VALUES (@user, @type, @priority, @title, @message, @link, @resource_type, @resource_id, @metadata, @occurrence,
                            0, 0, @now, @now)
                    ON CONFLICT (reminder_occurrence) DO NOTHING
                    """, connection, transaction);
                insert.Parameters.AddWithValue("@now", now);
                insert.Parameters.AddWithValue("@user", row.UserId);
                insert.Parameters.AddWithValue("@type", row.Type);
                insert.Parameters.AddWithValue("@priority", row.Priority);
                insert.Parameters.AddWithValue("@title", row.Title);
                insert.Parameters.AddWithValue("@message", row.Message);
                insert.Parameters.AddWithValue("@link", row.Link);
                insert.Parameters.AddWithValue("@resource_type", row.ResourceType);
                insert.Parameters.AddWithValue("@resource_id", row.ResourceId);
                insert.Parameters.AddWithValue("@metadata", row.MetadataJson);
                insert.Parameters.AddWithValue("@occurrence", row.OccurrenceKey);
                if (await insert.ExecuteNonQueryAsync(ct) == 1) inserted.Add(row.ResourceId);
            }
            await using (var mark = new SqliteCommand(
                "UPDATE crm_interactions SET notified_at = @now WHERE id IN (SELECT value FROM json_each(@ids))", connection, transaction))
            {
                mark.Parameters.AddWithValue("@now", now);
                mark.Parameters.AddWithValue("@ids", JsonSerializer.Serialize(locked.Select(r => r.Id)));
                await mark.ExecuteNonQueryAsync(ct);
            }
            await transaction.CommitAsync(ct);
            return BatchResult.Of(inserted, batch.Count);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == 19) // SQLITE_CONSTRAINT
        {
            // SQLITE_CONSTRAINT_NOTNULL: every value written is non-null, so no row can cause it.
            throw new RowRejectedException($"SQLITE_CONSTRAINT: {e.Message}", $"{e.SqliteExtendedErrorCode} {e.Message}", e,
                systemic: e.SqliteExtendedErrorCode == 1299);
        }
    }

    /// <summary>The rows of the batch still due and unchanged since the scan (what their notification was composed from).</summary>
    private async Task<List<DueInteraction>> StillDueAsync(
        SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<DueInteraction> batch, CancellationToken ct)
    {
        await using var command = new SqliteCommand($"""
            SELECT i.id, i.title, i.assignee_id, i.next_action_at FROM crm_interactions i
            WHERE i.id IN (SELECT value FROM json_each(@ids)) AND {Due} AND {NotSkipped}
            ORDER BY i.id
            """, connection, transaction);
        command.Parameters.AddWithValue("@ids", JsonSerializer.Serialize(batch.Select(o => o.Id)));
        command.Parameters.AddWithValue("@now", Now());
        var scanned = batch.ToHashSet();
        return (await ReadRowsAsync(command, batch.Count, ct)).Where(scanned.Contains).ToList();
    }

    private static async Task<List<DueInteraction>> ReadRowsAsync(SqliteCommand command, int capacity, CancellationToken ct)
    {
        var rows = new List<DueInteraction>(capacity);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new DueInteraction(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), ParseInstant(reader.GetString(3))));
        return rows;
    }

    public async Task<long> CountDueAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand($"SELECT count(*) FROM crm_interactions i WHERE {Due} AND {NotSkipped}", connection);
        command.Parameters.AddWithValue("@now", Now());
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
    }

    public async Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand(
            "INSERT OR IGNORE INTO skipped_occurrences (interaction_id, next_action_at, reason) VALUES (@id, @at, @reason)", connection);
        command.Parameters.AddWithValue("@id", occurrence.InteractionId);
        command.Parameters.AddWithValue("@at", ReminderOccurrence.FormatInstant(occurrence.NextActionAt));
        command.Parameters.AddWithValue("@reason", reason);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Adds sample users and interactions (SPEC §2 <c>--demo</c>): some due now, some in the next minutes.</summary>
    public async Task SeedDemoAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        var now = _clock.GetUtcNow();
        await using var users = new SqliteCommand("""
            INSERT OR IGNORE INTO users (id, email, full_name) VALUES
              (1, 'alice@example.com', 'Alice Martin'), (2, 'bob@example.com', 'Bob Durand')
            """, connection);
        await users.ExecuteNonQueryAsync(ct);
        (string Title, string Status, int? Assignee, TimeSpan? Offset)[] samples =
        [
            ("Rappeler ACME pour le devis", "todo", 1, TimeSpan.FromHours(-2)),
            ("Relancer Dupont & Fils", "in_progress", 2, TimeSpan.FromMinutes(-10)),
            ("Préparer la visio avec Globex", "todo", 1, TimeSpan.FromDays(-1)),
            ("Envoyer la proposition à Initech", "todo", 2, TimeSpan.FromSeconds(20)),
            ("Point trimestriel Umbrella", "todo", 1, TimeSpan.FromSeconds(40)),
            ("Dossier clos: aucun rappel", "done", 1, TimeSpan.FromHours(-1)),
            ("Sans responsable: aucun rappel", "todo", null, TimeSpan.FromHours(-1)),
            ("Sans date: aucun rappel", "todo", 2, null),
            ("La semaine prochaine", "todo", 2, TimeSpan.FromDays(7)),
        ];
        foreach (var (title, status, assignee, offset) in samples)
        {
            await using var insert = new SqliteCommand(
                "INSERT INTO crm_interactions (title, status, assignee_id, next_action_at) VALUES (@title, @status, @assignee, @at)", connection);
            insert.Parameters.AddWithValue("@title", title);
            insert.Parameters.AddWithValue("@status", status);
            insert.Parameters.AddWithValue("@assignee", (object?)assignee ?? DBNull.Value);
            insert.Parameters.AddWithValue("@at", offset is { } o ? ReminderOccurrence.FormatInstant(now + o) : DBNull.Value);
            await insert.ExecuteNonQueryAsync(ct);
        }
    }

    private string Now() => ReminderOccurrence.FormatInstant(_clock.GetUtcNow());

    private static DateTimeOffset ParseInstant(string text) =>
        DateTimeOffset.Parse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal | System.Globalization.DateTimeStyles.AdjustToUniversal);

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        await using var pragma = new SqliteCommand("PRAGMA foreign_keys = ON", connection);
        await pragma.ExecuteNonQueryAsync(ct);
        return connection;
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        return ValueTask.CompletedTask;
    }

    public async Task<long> CountSkippedAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand("SELECT count(*) FROM skipped_occurrences", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct));
    }
}
