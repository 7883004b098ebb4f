using Crm.Actors.Configuration;
using Crm.Actors.Reminders;
using Npgsql;
using NpgsqlTypes;

namespace Crm.Actors.Storage;

/// <summary>
/// The CRM's PostgreSQL.
///
/// Exactly once, by the database:
/// 1. <see cref="WriteAsync"/> locks the batch's rows with <c>FOR UPDATE SKIP LOCKED</c> under the due rule, in
///    the statement that writes. A row another instance is writing is skipped (it will be written there); a row
///    another instance has written no longer passes <c>notified_at IS NULL</c> (PostgreSQL re-checks the rule on
///    the newest row version before it locks). So two instances never both hold the same due row.
/// 2. The lock, the notification insert and the <c>notified_at</c> update are one statement, one transaction:
///    a <c>kill -9</c> or a dropped connection before it commits leaves none of them; after, all.
/// 3. Behind that, a unique index on the occurrence key in the notification's metadata makes a second
///    notification for the same occurrence impossible whatever the path (<c>ON CONFLICT DO NOTHING</c>).
/// </summary>
public sealed class PostgresReminderStore : IReminderStore
{
    private readonly NpgsqlDataSource _dataSource;

    public PostgresReminderStore(NpgsqlConnectionStringBuilder connection)
    {
        Description = DatabaseUrl.Describe(connection);
        _dataSource = NpgsqlDataSource.Create(connection.ConnectionString);
    }

    public string Description { get; }

    private static readonly string Due = DueRule.SqlPredicate("now()");

    /// <summary>The earliest instant .NET represents; earlier ones (BC dates, -infinity) are parked, not read.</summary>
    private const string Representable = "i.next_action_at >= '0001-01-01 00:00:00+00'";

    private const string NotSkipped =
        "NOT EXISTS (SELECT 1 FROM crm_actors.skipped_occurrences s WHERE s.interaction_id = i.id AND s.next_action_at = i.next_action_at)";

    /// <summary>
    /// Each statement is idempotent and runs on its own (CREATE INDEX CONCURRENTLY cannot run in a transaction).
    /// An advisory lock serialises concurrent runs. The CRM's tables and enums are the CRM's: this adds indexes
    /// and the service's own schema, never a label to an enum (a label the CRM's ORM does not know breaks every
    /// read of that user's notifications).
    /// </summary>
    private static readonly string[] Migration =
    [
        "CREATE SCHEMA IF NOT EXISTS crm_actors",
        """
        CREATE TABLE IF NOT EXISTS crm_actors.skipped_occurrences (
            interaction_id integer     NOT NULL,
            next_action_at timestamptz NOT NULL,
            reason         text        NOT NULL,
            skipped_at     timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (interaction_id, next_action_at))
        """,
        // The supervisor's journal (Akka.Persistence.Sql's own layout). Created here rather than by the plugin at
        // start: a plugin that finds no table while the database is down gives up for good.
        """
        CREATE TABLE IF NOT EXISTS crm_actors.journal (
            ordering        bigint GENERATED ALWAYS AS IDENTITY CONSTRAINT "PK_journal" PRIMARY KEY,
            created         bigint  NOT NULL,
            deleted         boolean NOT NULL,
            persistence_id  text    NOT NULL,
            sequence_number bigint  NOT NULL,
            message         bytea   NOT NULL,
            manifest        text,
            identifier      integer,
            writer_uuid     text,
            CONSTRAINT journal_uq UNIQUE (persistence_id, sequence_number))
        """,
        "CREATE INDEX IF NOT EXISTS journal_created_idx ON crm_actors.journal (created)",
        "CREATE INDEX IF NOT EXISTS journal_sequence_number_idx ON crm_actors.journal (sequence_number)",
        """
        CREATE TABLE IF NOT EXISTS crm_actors.tags (
            ordering_id    bigint NOT NULL,
            tag            text   NOT NULL,
            sequence_nr    bigint NOT NULL,
            persistence_id text   NOT NULL,
            CONSTRAINT "PK_tags" PRIMARY KEY (ordering_id, tag))
        """,
        "CREATE INDEX IF NOT EXISTS tags_persistence_id_sequence_nr_idx ON crm_actors.tags (persistence_id, sequence_nr)",
        "CREATE INDEX IF NOT EXISTS tags_tag_idx ON crm_actors.tags (tag)",
        // The due scan reads this partial index in order; it holds only the rows still waiting for a reminder.
        """
        CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_crm_interactions_reminder_due
            ON crm_interactions (next_action_at, id)
            WHERE notified_at IS NULL AND assignee_id IS NOT NULL AND status IN ('todo', 'in_progress')
        """,
        """
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_notifications_reminder_occurrence
            ON notifications ((metadata->>'reminder_occurrence'))
            WHERE (metadata->>'reminder_occurrence') IS NOT NULL
        """,
    ];

    private static readonly string[] MigrationIndexes = ["ix_crm_interactions_reminder_due", "ux_notifications_reminder_occurrence"];

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(ct);
        // Poll rather than wait in pg_advisory_lock: a session waiting there holds a snapshot, which the other
        // session's CREATE INDEX CONCURRENTLY would wait for in turn (a deadlock).
        while (!await TryLockAsync(connection, ct))
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        try
        {
            // A CONCURRENTLY build that failed earlier leaves an INVALID index that IF NOT EXISTS would keep.
            foreach (var index in MigrationIndexes)
                await Execute(connection, $"""
                    DO $$ BEGIN
                      IF EXISTS (SELECT 1 FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid
                                 WHERE c.relname = '{index}' AND NOT x.indisvalid)
                      THEN EXECUTE 'DROP INDEX {index}'; END IF;
                    END $$
                    """, ct);
            foreach (var statement in Migration)
                await Execute(connection, statement, ct);
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(hashtext('crm-actors-migrate'))", CancellationToken.None);
        }
    }

    /// <summary>The notification columns the service writes (SPEC §1); any other NOT NULL column needs a default.</summary>
    private static readonly string[] WrittenColumns =
        ["user_id", "type", "priority", "title", "message", "link", "resource_type", "resource_id", "metadata",
         "is_read", "is_archived", "created_at", "updated_at"];

    public async Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default)
    {
        const string sql = """
            SELECT
              EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
                      WHERE t.typname = 'notificationtype' AND e.enumlabel = @type),
              EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
                      WHERE t.typname = 'notificationpriority' AND e.enumlabel = @priority),
              to_regclass('crm_actors.skipped_occurrences') IS NOT NULL AND to_regclass('crm_actors.journal') IS NOT NULL
                AND (SELECT count(*) FROM pg_class c JOIN pg_index x ON x.indexrelid = c.oid
                     WHERE c.relname IN ('ux_notifications_reminder_occurrence', 'ix_crm_interactions_reminder_due') AND x.indisvalid) = 2,
              (SELECT string_agg(a.attname, ', ' ORDER BY a.attnum) FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = 'notifications'::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull
                 AND d.adrelid IS NULL AND a.attidentity = '' AND a.attgenerated = '' AND a.attname <> ALL (@written)),
              concat_ws(', ',
                CASE WHEN NOT has_table_privilege('notifications', 'INSERT') THEN 'INSERT on notifications' END,
                CASE WHEN NOT has_table_privilege('crm_interactions', 'SELECT, UPDATE') THEN 'SELECT and UPDATE on crm_interactions' END,
                CASE WHEN to_regclass('crm_actors.skipped_occurrences') IS NOT NULL
                      AND NOT has_table_privilege('crm_actors.skipped_occurrences', 'SELECT, INSERT') THEN 'SELECT and INSERT on crm_actors.skipped_occurrences' END),
              current_user
            """;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("type", template.NotificationType);
        command.Parameters.AddWithValue("priority", template.Priority);
        command.Parameters.AddWithValue("written", WrittenColumns);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (type, priority, migrated) = (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2));
        var unfilled = reader.IsDBNull(3) ? null : reader.GetString(3);
        var (missingPrivileges, role) = (reader.GetString(4), reader.GetString(5));
        if (!migrated)
            throw new StoreNotReadyException($"{Description} is not migrated for crm-actors: run Crm.Host --migrate");
        if (!type)
            throw new ConfigurationException("crm.reminders.notification-type", template.NotificationType,
                $"the CRM's notificationtype enum has no label '{template.NotificationType}'; the service never adds one: configure a label the CRM knows (default TASK_DUE)");
        if (!priority)
            throw new ConfigurationException("crm.reminders.priority", template.Priority,
                $"the CRM's notificationpriority enum has no label '{template.Priority}'");
        if (unfilled is not null)
            throw new StoreNotReadyException(
                $"notifications has NOT NULL column(s) without a default that crm-actors does not write: {unfilled}; every reminder would be refused");
        if (missingPrivileges.Length > 0)
            throw new StoreNotReadyException($"role {role} lacks {missingPrivileges}");
    }

    public async Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default)
    {
        var sql = $"""
            SELECT i.id, i.title, i.assignee_id, i.next_action_at FROM crm_interactions i
            WHERE {Due} AND {NotSkipped} AND {Representable} {(after is null ? "" : "AND (i.next_action_at, i.id) > (@after_at, @after_id)")}
            ORDER BY i.next_action_at, i.id
            LIMIT @limit
            """;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("limit", limit);
        if (after is not null)
        {
            command.Parameters.AddWithValue("after_at", after.NextActionAt.ToUniversalTime());
            command.Parameters.AddWithValue("after_id", after.InteractionId);
        }
        var page = new List<DueInteraction>(limit);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            page.Add(new DueInteraction(reader.GetInt32(0), reader.GetString(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3)));
        return page;
    }

    /// <summary>
    /// The whole batch in one statement, so one round trip and one transaction: the rows travel as arrays,
    /// <c>locked</c> keeps those still due and unchanged since the scan (re-checked on their newest version),
    /// and the insert and the update both work from <c>locked</c>.
    /// </summary>
    private static readonly string WriteSql = $"""
        WITH input AS (
          SELECT * FROM unnest(@ids, @next_action_ats, @user_ids, @source_titles, @titles, @messages, @links, @metadata)
            AS r(id, next_action_at, user_id, source_title, title, message, link, metadata)),
        locked AS (
          SELECT i.id FROM crm_interactions i JOIN input r ON r.id = i.id
          WHERE {Due} AND {NotSkipped}
            AND i.next_action_at = r.next_action_at AND i.assignee_id = r.user_id AND i.title = r.source_title
          ORDER BY i.id
          FOR UPDATE OF i SKIP LOCKED),
        inserted AS (
          INSERT INTO notifications (user_id, type, priority, title, message, link, resource_type, resource_id, metadata,
                                     is_read, is_archived, created_at, updated_at)
          SELECT r.user_id, @type::notificationtype, @priority::notificationpriority, r.title, r.message, r.link,
                 'interaction', r.id, r.metadata::json, false, false, now(), now()
          FROM input r JOIN locked l ON l.id = r.id
          ON CONFLICT ((metadata->>'reminder_occurrence')) WHERE (metadata->>'reminder_occurrence') IS NOT NULL
          DO NOTHING
          RETURNING resource_id),
        marked AS (
          UPDATE crm_interactions i SET notified_at = now() FROM locked l WHERE i.id = l.id RETURNING 1)
        SELECT coalesce((SELECT array_agg(resource_id) FROM inserted), ARRAY[]::int[]), (SELECT count(*) FROM marked)::int
        """;

    public async Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default)
    {
        NotificationRow[] rows;
        try { rows = batch.Select(row => NotificationComposer.Compose(row, template)).ToArray(); }
        catch (ArgumentOutOfRangeException e) // a date at the edge of .NET's range, shifted out of it by the time zone
        {
            throw new RowRejectedException($"the notification cannot be composed: {e.Message}", "compose", e);
        }
        await using var command = _dataSource.CreateCommand(WriteSql);
        command.Parameters.AddWithValue("type", template.NotificationType);
        command.Parameters.AddWithValue("priority", template.Priority);
        command.Parameters.Add(new NpgsqlParameter<int[]>("ids", batch.Select(r => r.Id).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("next_action_ats", batch.Select(r => r.NextActionAt.ToUniversalTime()).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("user_ids", rows.Select(r => r.UserId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("source_titles", batch.Select(r => r.Title).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("titles", rows.Select(r => r.Title).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("messages", rows.Select(r => r.Message).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("links", rows.Select(r => r.Link).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("metadata", rows.Select(r => r.MetadataJson).ToArray())
            { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        try
        {
            // One statement is one transaction: a dropped connection or a kill before it commits leaves nothing.
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            return BatchResult.Of(reader.GetFieldValue<int[]>(0), batch.Count);
        }
        catch (PostgresException e) when (e.SqlState.StartsWith("22", StringComparison.Ordinal) || e.SqlState.StartsWith("23", StringComparison.Ordinal))
        {
            // Every value the service writes is non-null, so a NOT NULL violation is a column it does not fill:
            // every row would meet it.
            throw new RowRejectedException($"{e.SqlState}: {e.MessageText}", $"{e.SqlState} {e.ConstraintName ?? e.ColumnName}", e,
                systemic: e.SqlState == PostgresErrorCodes.NotNullViolation);
        }
    }

    public async Task<IReadOnlyList<UnreadableRow>> ParkUnreadableAsync(CancellationToken ct = default)
    {
        const string reason = "next_action_at is before year 1, which the service cannot represent";
        await using var command = _dataSource.CreateCommand($"""
            INSERT INTO crm_actors.skipped_occurrences (interaction_id, next_action_at, reason)
            SELECT i.id, i.next_action_at, '{reason}' FROM crm_interactions i
            WHERE {Due} AND {NotSkipped} AND NOT ({Representable})
            ON CONFLICT DO NOTHING
            RETURNING interaction_id, next_action_at::text
            """);
        var rows = new List<UnreadableRow>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            rows.Add(new UnreadableRow(reader.GetInt32(0), reader.GetString(1), reason));
        return rows;
    }

    public async Task<long> CountDueAsync(CancellationToken ct = default)
    {
        await using var command = _dataSource.CreateCommand($"SELECT count(*) FROM crm_interactions i WHERE {Due} AND {NotSkipped}");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }

    public async Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default)
    {
        await using var command = _dataSource.CreateCommand("""
            INSERT INTO crm_actors.skipped_occurrences (interaction_id, next_action_at, reason)
            VALUES (@id, @at, @reason) ON CONFLICT DO NOTHING
            """);
        command.Parameters.AddWithValue("id", occurrence.InteractionId);
        command.Parameters.AddWithValue("at", occurrence.NextActionAt.ToUniversalTime());
        command.Parameters.AddWithValue("reason", reason);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock(hashtext('crm-actors-migrate'))", connection);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public async Task<long> CountSkippedAsync(CancellationToken ct = default)
    {
        await using var command = _dataSource.CreateCommand("SELECT count(*) FROM crm_actors.skipped_occurrences");
        return (long)(await command.ExecuteScalarAsync(ct))!;
    }
}
