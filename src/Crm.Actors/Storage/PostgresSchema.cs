using Crm.Actors.Configuration;
using Crm.Actors.Domain;
using Npgsql;

namespace Crm.Actors.Storage;

/// <summary>
/// What the service adds to the CRM's PostgreSQL (<c>--migrate</c>), and the start check that it is there and
/// that the CRM's schema still takes the row the service writes.
/// </summary>
public static class PostgresSchema
{
    /// <summary>
    /// Each statement is idempotent and runs on its own (CREATE INDEX CONCURRENTLY cannot run in a transaction).
    /// An advisory lock serialises concurrent runs. The CRM's tables and enums are the CRM's: this adds indexes
    /// and the service's own schema, never a label to an enum (a label the CRM's ORM does not know breaks every
    /// read of that user's notifications).
    /// </summary>
    private static readonly IReadOnlyList<string> Migration =
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
        // The cluster's split-brain lease (PostgresLease): one row per lease, its expiry by the database's clock.
        $"""
        CREATE TABLE IF NOT EXISTS {PostgresLease.Table} (
            name       text PRIMARY KEY,
            owner      text,
            expires_at timestamptz)
        """,
        .. JournalSchema.Statements(JournalSchema.Postgres),
        // The due scan reads this partial index in order; it holds only the rows still waiting for a reminder.
        $"""
        CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_crm_interactions_reminder_due
            ON crm_interactions (next_action_at, id)
            WHERE {DueRule.IndexPredicate}
        """,
        """
        CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS ux_notifications_reminder_occurrence
            ON notifications ((metadata->>'reminder_occurrence'))
            WHERE (metadata->>'reminder_occurrence') IS NOT NULL
        """,
    ];

    /// <summary>SPEC §9: the channel the trigger announces new and moved reminders on.</summary>
    public const string ChangeChannel = "crm_actors_reminders";

    public const string TriggerExistsSql =
        "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'crm_actors_reminder_changed' AND tgrelid = 'crm_interactions'::regclass AND tgenabled <> 'D')";

    /// <summary>
    /// The trigger's payload: the reminder's due time, as epoch seconds (a few dozen bytes, far below NOTIFY's
    /// limit). It fires only for rows that wait for a reminder after the change; the service's own marking
    /// (notified_at set) does not fire it.
    /// </summary>
    private static readonly string[] Trigger =
    [
        $"""
        CREATE OR REPLACE FUNCTION crm_actors.reminder_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_notify('{ChangeChannel}', extract(epoch FROM NEW.next_action_at)::text);
          RETURN NULL;
        EXCEPTION WHEN OTHERS THEN
          -- A full notification queue, say: the reminder waits for the next tick; the CRM's write must not fail.
          RETURN NULL;
        END $$
        """,
        $"""
        CREATE OR REPLACE TRIGGER crm_actors_reminder_changed
          AFTER INSERT OR UPDATE OF next_action_at, status, assignee_id, notified_at ON crm_interactions
          FOR EACH ROW WHEN (NEW.next_action_at IS NOT NULL AND {DueRule.WaitingPredicate("NEW.")})
          EXECUTE FUNCTION crm_actors.reminder_changed()
        """,
    ];

    /// <summary>The due time an announcement carries, or null for a payload that is not one.</summary>
    public static DateTimeOffset? ParseChange(string payload) =>
        double.TryParse(payload, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var epoch)
        && epoch is > -62135596800 and < 253402300800
            ? DateTimeOffset.UnixEpoch.AddTicks((long)(epoch * TimeSpan.TicksPerSecond))
            : null;

    private static readonly string[] MigrationIndexes = ["ix_crm_interactions_reminder_due", "ux_notifications_reminder_occurrence"];

    public static async Task MigrateAsync(NpgsqlDataSource dataSource, CancellationToken ct = default)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
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
            foreach (var statement in Migration.Concat(Trigger))
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

    public static async Task VerifyAsync(NpgsqlDataSource dataSource, string description, NotificationTemplate template, CancellationToken ct = default)
    {
        const string sql = """
            SELECT
              EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
                      WHERE t.typname = 'notificationtype' AND e.enumlabel = @type),
              EXISTS (SELECT 1 FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
                      WHERE t.typname = 'notificationpriority' AND e.enumlabel = @priority),
              to_regclass('crm_actors.skipped_occurrences') IS NOT NULL AND to_regclass('crm_actors.journal') IS NOT NULL
                AND to_regclass('crm_actors.snapshot') IS NOT NULL AND to_regclass('crm_actors.cluster_lease') IS NOT NULL
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
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("type", template.NotificationType);
        command.Parameters.AddWithValue("priority", template.Priority);
        command.Parameters.AddWithValue("written", WrittenColumns);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var (type, priority, migrated) = (reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2));
        var unfilled = reader.IsDBNull(3) ? null : reader.GetString(3);
        var (missingPrivileges, role) = (reader.GetString(4), reader.GetString(5));
        if (!migrated)
            throw new StoreNotReadyException($"{description} is not migrated for crm-actors: run Crm.Host --migrate");
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

}
