using System.Text.Json;
using Crm.Actors.Domain;
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

    /// <summary>Fed by the ready check alone: the embedded file is this host's own.</summary>
    public DatabaseContact Contact { get; } = new();

    public string Description { get; }

    private static readonly string Due = DueRule.SqlPredicate("@now");

    private const string NotSkipped =
        "NOT EXISTS (SELECT 1 FROM skipped_occurrences s WHERE s.interaction_id = i.id AND s.next_action_at = i.next_action_at)";

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await SqliteSchema.MigrateAsync(connection, ct);
    }

    public async Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await SqliteSchema.VerifyAsync(connection, Description, ct);
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
            var at = _clock.GetUtcNow();
            var now = ReminderOccurrence.FormatInstant(at); // the transaction's time, as PostgreSQL's now()
            var inserted = new List<int>(locked.Count);
            var delays = new List<double>(locked.Count);
            foreach (var (due, row) in locked.Select(r => (r, NotificationComposer.Compose(r, template))))
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
                if (await insert.ExecuteNonQueryAsync(ct) != 1) continue;
                inserted.Add(row.ResourceId);
                // The embedded file's interactions keep no updated_at: due since their date.
                delays.Add(Math.Max(0, (at - due.NextActionAt).TotalSeconds));
            }
            await using (var mark = new SqliteCommand(
                "UPDATE crm_interactions SET notified_at = @now WHERE id IN (SELECT value FROM json_each(@ids))", connection, transaction))
            {
                mark.Parameters.AddWithValue("@now", now);
                mark.Parameters.AddWithValue("@ids", JsonSerializer.Serialize(locked.Select(r => r.Id)));
                await mark.ExecuteNonQueryAsync(ct);
            }
            await transaction.CommitAsync(ct);
            return BatchResult.Of(inserted, batch.Count) with { DelaySeconds = delays };
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

    public async Task<ReminderOutlook> OutlookAsync(CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand($"""
            SELECT (SELECT min(i.next_action_at) FROM crm_interactions i WHERE {DueRule.WaitingPredicate("i.")} AND i.next_action_at > @now),
                   (SELECT count(*) FROM crm_interactions i WHERE {Due} AND {NotSkipped}),
                   (SELECT count(*) FROM skipped_occurrences)
            """, connection);
        var now = _clock.GetUtcNow();
        command.Parameters.AddWithValue("@now", ReminderOccurrence.FormatInstant(now));
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new ReminderOutlook(
            reader.IsDBNull(0) ? null : ParseInstant(reader.GetString(0)) - now, reader.GetInt64(1), reader.GetInt64(2));
    }

    public async Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = new SqliteCommand(
            "INSERT INTO skipped_occurrences (interaction_id, next_action_at, reason) VALUES (@id, @at, @reason) ON CONFLICT DO NOTHING", connection);
        command.Parameters.AddWithValue("@id", occurrence.InteractionId);
        command.Parameters.AddWithValue("@at", ReminderOccurrence.FormatInstant(occurrence.NextActionAt));
        command.Parameters.AddWithValue("@reason", reason);
        await command.ExecuteNonQueryAsync(ct);
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
}
