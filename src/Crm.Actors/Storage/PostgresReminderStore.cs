using Crm.Actors.Domain;
using Npgsql;
using NpgsqlTypes;

namespace Crm.Actors.Storage;

/// <summary>
/// The CRM's PostgreSQL.
///
/// Exactly once, by the database:
/// 1. <see cref="WriteAsync"/> locks the batch's rows with <c>FOR UPDATE SKIP LOCKED</c> under the due rule, in
///    the statement that writes. A row another instance is writing is skipped and counted as held (written there,
///    or, if that instance dies, rolled back with its transaction and looked at again here within
///    <c>held-recheck</c>); a row another instance has written no longer passes <c>notified_at IS NULL</c>
///    (PostgreSQL re-checks the rule on the newest row version before it locks). So two instances never both hold
///    the same due row.
/// 2. The lock, the notification insert and the <c>notified_at</c> update are one statement, one transaction:
///    a <c>kill -9</c> or a dropped connection before it commits leaves none of them; after, all.
/// 3. Behind that, a unique index on the occurrence key in the notification's metadata makes a second
///    notification for the same occurrence impossible whatever the path (<c>ON CONFLICT DO NOTHING</c>).
/// </summary>
public sealed class PostgresReminderStore : IReminderStore, IReminderChangeFeed
{
    private readonly NpgsqlDataSource _dataSource;

    private readonly string _writeSql;
    /// <summary>Where committed notifications are announced, as a parameter of the write (never spliced into its text).</summary>
    private readonly string _pushChannel;
    private readonly NpgsqlConnectionStringBuilder _listenConnection;
    /// <summary>The setting the connection came from (DATABASE_URL, crm.database.url): a refusal names it.</summary>
    private readonly string _key;

    /// <param name="pushChannel">Where each committed notification is announced (SPEC §9); "" for nowhere.</param>
    /// <param name="key">The setting the connection came from, named when the database refuses it.</param>
    public PostgresReminderStore(NpgsqlConnectionStringBuilder connection, string pushChannel = "", string key = "DATABASE_URL")
    {
        _key = key;
        Description = DatabaseUrl.Describe(connection);
        _writeSql = WriteSql(pushChannel.Length > 0);
        _pushChannel = pushChannel;
        // Its own connection, out of the pool, with TCP keepalives: a silently dropped connection is noticed
        // within a minute without sending a single query.
        _listenConnection = new NpgsqlConnectionStringBuilder(connection.ConnectionString)
        {
            Pooling = false, TcpKeepAlive = true, TcpKeepAliveTime = 30, TcpKeepAliveInterval = 10, ApplicationName = "crm-actors listen",
        };
        // The page query and the write run once per batch, a thousand times on a backlog of a million: prepared
        // on each connection after a few uses, PostgreSQL parses and plans them once (its generic plan of the
        // write is the per-row index plan of the custom one).
        _dataSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(connection.ConnectionString)
            { MaxAutoPrepare = Math.Max(connection.MaxAutoPrepare, 8) }.ConnectionString);
    }

    public string Description { get; }

    /// <summary>Every statement's outcome and the LISTEN connection's, for /health/ready.</summary>
    public DatabaseContact Contact { get; } = new();

    /// <summary>The outcome of <paramref name="operation"/> is news of the database (<see cref="Contact"/>).</summary>
    private async Task<T> Contacted<T>(Task<T> operation)
    {
        try
        {
            var result = await operation;
            Contact.Answered();
            return result;
        }
        catch (Exception e)
        {
            Noted(e);
            throw;
        }
    }

    private async Task Contacted(Task operation)
    {
        try
        {
            await operation;
            Contact.Answered();
        }
        catch (Exception e)
        {
            Noted(e);
            throw;
        }
    }

    private void Noted(Exception e)
    {
        if (e is RowRejectedException) Contact.Answered(); // it answered, refusing a row's data
        else if (e is not OperationCanceledException) Contact.Failed(e.Message);
    }

    private static readonly string Due = DueRule.SqlPredicate("now()");

    /// <summary>The earliest instant .NET represents; earlier ones (BC dates, -infinity) are parked, not read.</summary>
    private const string Representable = "i.next_action_at >= '0001-01-01 00:00:00+00'";

    private const string NotSkipped =
        "NOT EXISTS (SELECT 1 FROM crm_actors.skipped_occurrences s WHERE s.interaction_id = i.id AND s.next_action_at = i.next_action_at)";

    public Task MigrateAsync(CancellationToken ct = default) => Settings(PostgresSchema.MigrateAsync(_dataSource, ct));

    public Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default) =>
        Contacted(Settings(PostgresSchema.VerifyAsync(_dataSource, Description, template, ct)));

    public string DescribeFailure(Exception error) => StoreErrors.AsSetting(error, _key, Description)?.Message ?? error.Message;

    /// <summary>A refusal of what the URL says (credentials, database, not the CRM's) is a setting, named as such.</summary>
    private async Task Settings(Task operation)
    {
        try
        {
            await operation;
        }
        catch (Exception e) when (StoreErrors.AsSetting(e, _key, Description) is { } setting)
        {
            throw setting;
        }
    }

    /// <summary>One page of the due scan, in the order of the partial due index (which the tests EXPLAIN).</summary>
    internal static string PageSql(bool first) => $"""
        SELECT i.id, i.title, i.assignee_id, i.next_action_at FROM crm_interactions i
        WHERE {Due} AND {NotSkipped} AND {Representable} {(first ? "" : "AND (i.next_action_at, i.id) > (@after_at, @after_id)")}
        ORDER BY i.next_action_at, i.id
        LIMIT @limit
        """;

    public Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default) =>
        Contacted(FindDuePageAsync(after, limit, ct));

    private async Task<IReadOnlyList<DueInteraction>> FindDuePageAsync(ReminderOccurrence? after, int limit, CancellationToken ct)
    {
        await using var command = _dataSource.CreateCommand(PageSql(first: after is null));
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
    /// <c>locked</c> keeps those still due and unchanged since the scan (re-checked on their newest version) with
    /// their composed notification, and the insert and the update both work from <c>locked</c> (the arrays are
    /// read once, with no second join to find a locked row's notification).
    /// </summary>
    /// <param name="push">Announce each written notification on the channel given as <c>@push_channel</c>.</param>
    private static string WriteSql(bool push) => $"""
        WITH locked AS (
          SELECT i.id, r.user_id, r.title, r.message, r.link, r.metadata,
                 -- Due since: its date, or its insert or move into the past (the CRM's models keep updated_at).
                 greatest(i.next_action_at, i.updated_at) AS due_since
          FROM crm_interactions i
          JOIN unnest(@ids, @next_action_ats, @user_ids, @source_titles, @titles, @messages, @links, @metadata)
            AS r(id, next_action_at, user_id, source_title, title, message, link, metadata) ON r.id = i.id
          WHERE {Due} AND {NotSkipped}
            AND i.next_action_at = r.next_action_at AND i.assignee_id = r.user_id AND i.title = r.source_title
          ORDER BY i.id
          FOR UPDATE OF i SKIP LOCKED),
        inserted AS (
          INSERT INTO notifications (user_id, type, priority, title, message, link, resource_type, resource_id, metadata,
                                     is_read, is_archived, created_at, updated_at)
          SELECT l.user_id, @type::notificationtype, @priority::notificationpriority, l.title, l.message, l.link,
                 'interaction', l.id, l.metadata::json, false, false, now(), now()
          FROM locked l
          ON CONFLICT ((metadata->>'reminder_occurrence')) WHERE (metadata->>'reminder_occurrence') IS NOT NULL
          DO NOTHING
          RETURNING id, user_id, type, link, resource_id),
        marked AS (
          UPDATE crm_interactions i SET notified_at = now() FROM locked l WHERE i.id = l.id RETURNING 1)
        {(!push ? "" : """
        , pushed AS (
          -- Delivered to listeners only if this transaction commits, so only written rows are announced.
          SELECT pg_notify(@push_channel, json_build_object('id', n.id, 'user_id', n.user_id, 'type', n.type, 'link', n.link)::text)
          FROM inserted n)
        """)}
        , written AS (
          SELECT coalesce(array_agg(n.resource_id ORDER BY n.resource_id), ARRAY[]::int[]) AS ids,
                 coalesce(array_agg(greatest(0, extract(epoch FROM now() - l.due_since))::float8 ORDER BY n.resource_id),
                          ARRAY[]::float8[]) AS delays
          FROM inserted n JOIN locked l ON l.id = n.resource_id)
        SELECT w.ids, w.delays, (SELECT count(*) FROM marked)::int
               {(!push ? "" : ", (SELECT count(*) FROM pushed)")}
        FROM written w
        """;

    public Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default) =>
        Contacted(WriteBatchAsync(batch, template, ct));

    private async Task<BatchResult> WriteBatchAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct)
    {
        var columns = new WriteColumns(batch.Count);
        try
        {
            for (var i = 0; i < batch.Count; i++)
                columns.Set(i, batch[i], NotificationComposer.Compose(batch[i], template));
        }
        catch (ArgumentOutOfRangeException e) // a date at the edge of .NET's range, shifted out of it by the time zone
        {
            throw new RowRejectedException($"the notification cannot be composed: {e.Message}", "compose", e);
        }
        await using var command = _dataSource.CreateCommand(_writeSql);
        command.Parameters.AddWithValue("type", template.NotificationType);
        if (_pushChannel.Length > 0) command.Parameters.AddWithValue("push_channel", _pushChannel);
        command.Parameters.AddWithValue("priority", template.Priority);
        command.Parameters.Add(new NpgsqlParameter<int[]>("ids", columns.Ids));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("next_action_ats", columns.NextActionAts));
        command.Parameters.Add(new NpgsqlParameter<int[]>("user_ids", columns.UserIds));
        command.Parameters.Add(new NpgsqlParameter<string[]>("source_titles", columns.SourceTitles));
        command.Parameters.Add(new NpgsqlParameter<string[]>("titles", columns.Titles));
        command.Parameters.Add(new NpgsqlParameter<string[]>("messages", columns.Messages));
        command.Parameters.Add(new NpgsqlParameter<string[]>("links", columns.Links));
        command.Parameters.Add(new NpgsqlParameter<string[]>("metadata", columns.Metadata) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        int[] written;
        double[] delays;
        try
        {
            // One statement is one transaction: a dropped connection or a kill before it commits leaves nothing.
            await using var reader = await command.ExecuteReaderAsync(ct);
            await reader.ReadAsync(ct);
            written = reader.GetFieldValue<int[]>(0);
            delays = reader.GetFieldValue<double[]>(1);
        }
        catch (PostgresException e) when (e.SqlState.StartsWith("22", StringComparison.Ordinal) || e.SqlState.StartsWith("23", StringComparison.Ordinal))
        {
            // Every value the service writes is non-null, so a NOT NULL violation is a column it does not fill:
            // every row would meet it.
            throw new RowRejectedException($"{e.SqlState}: {e.MessageText}", $"{e.SqlState} {e.ConstraintName ?? e.ColumnName}", e,
                systemic: e.SqlState == PostgresErrorCodes.NotNullViolation);
        }
        // The common case, the whole batch written, costs nothing more.
        var held = written.Length == batch.Count ? 0 : await CountStillDueAsync(batch, written, ct);
        return BatchResult.Of(written, batch.Count, held) with { DelaySeconds = delays };
    }

    /// <summary>
    /// Of the batch's rows the write left alone, those still due: SKIP LOCKED passed them because another
    /// transaction held them (or they changed since the page was read). A plain read, which no lock blocks, after
    /// the batch committed: its own rows are notified by then, and a row another instance has committed meanwhile
    /// is no longer due. The rows of a transaction that is still open, or that a dead node left to roll back,
    /// still read as due: nobody will announce their release, so the scheduler looks again soon (SPEC §8).
    /// </summary>
    private async Task<int> CountStillDueAsync(IReadOnlyList<DueInteraction> batch, int[] written, CancellationToken ct)
    {
        var writtenIds = written.ToHashSet();
        var unwritten = batch.Select(r => r.Id).Where(id => !writtenIds.Contains(id)).ToArray();
        await using var command = _dataSource.CreateCommand(StillDueSql);
        command.Parameters.Add(new NpgsqlParameter<int[]>("ids", unwritten));
        try
        {
            return (int)(await command.ExecuteScalarAsync(ct))!;
        }
        catch (NpgsqlException)
        {
            // The batch is committed: it must not be reported as failed. Counted as held, its rows are looked at
            // again soon, and that scan meets the database's error, if it lasts, and reports it.
            return unwritten.Length;
        }
    }

    private static readonly string StillDueSql = $"SELECT count(*)::int FROM crm_interactions i WHERE i.id = ANY(@ids) AND {Due} AND {NotSkipped}";

    /// <summary>The batch as the statement's arrays, filled in one pass over the rows.</summary>
    private sealed class WriteColumns(int count)
    {
        public int[] Ids { get; } = new int[count];
        public DateTimeOffset[] NextActionAts { get; } = new DateTimeOffset[count];
        public int[] UserIds { get; } = new int[count];
        public string[] SourceTitles { get; } = new string[count];
        public string[] Titles { get; } = new string[count];
        public string[] Messages { get; } = new string[count];
        public string[] Links { get; } = new string[count];
        public string[] Metadata { get; } = new string[count];

        public void Set(int i, DueInteraction row, NotificationRow notification)
        {
            Ids[i] = row.Id;
            NextActionAts[i] = row.NextActionAt.ToUniversalTime();
            UserIds[i] = notification.UserId;
            SourceTitles[i] = row.Title;
            Titles[i] = notification.Title;
            Messages[i] = notification.Message;
            Links[i] = notification.Link;
            Metadata[i] = notification.MetadataJson;
        }
    }

    public Task<IReadOnlyList<UnreadableRow>> ParkUnreadableAsync(CancellationToken ct = default) => Contacted(ParkAsync(ct));

    private async Task<IReadOnlyList<UnreadableRow>> ParkAsync(CancellationToken ct)
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

    public Task<ReminderOutlook> OutlookAsync(CancellationToken ct = default) => Contacted(ReadOutlookAsync(ct));

    private async Task<ReminderOutlook> ReadOutlookAsync(CancellationToken ct)
    {
        // The earliest future date reads the partial due index from its start past now(): one index probe.
        await using var command = _dataSource.CreateCommand($"""
            SELECT extract(epoch FROM (SELECT min(i.next_action_at) FROM crm_interactions i
                                       WHERE {DueRule.WaitingPredicate("i.")}
                                         AND i.next_action_at > now()) - now())::float8,
                   (SELECT count(*) FROM crm_interactions i WHERE {Due} AND {NotSkipped}),
                   (SELECT count(*) FROM crm_actors.skipped_occurrences)
            """);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new ReminderOutlook(
            reader.IsDBNull(0) ? null : TimeSpan.FromSeconds(reader.GetDouble(0)), reader.GetInt64(1), reader.GetInt64(2));
    }

    public Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default) =>
        Contacted(InsertSkippedAsync(occurrence, reason, ct));

    private async Task InsertSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct)
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

    public async Task ListenAsync(Action<bool> listening, Action<DateTimeOffset> changed, CancellationToken ct)
    {
        try
        {
            await using var connection = new NpgsqlConnection(_listenConnection.ConnectionString);
            await connection.OpenAsync(ct);
            connection.Notification += (_, e) =>
            {
                if (e.Channel == PostgresSchema.ChangeChannel && PostgresSchema.ParseChange(e.Payload) is { } dueAt) changed(dueAt);
            };
            await using (var listen = new NpgsqlCommand($"LISTEN {PostgresSchema.ChangeChannel}; {PostgresSchema.TriggerExistsSql}", connection))
                listening((bool)(await listen.ExecuteScalarAsync(ct))!);
            Contact.ListenOpened();
            while (true) await connection.WaitAsync(ct);
        }
        catch (Exception e)
        {
            Contact.ListenClosed(ct.IsCancellationRequested ? null : $"the LISTEN connection was lost: {e.Message}");
            throw;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
