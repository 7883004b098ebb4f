using Crm.Actors.Domain;

namespace Crm.Actors.Storage;

/// <summary>
/// The database side of the pipeline. Two implementations: the CRM's PostgreSQL and the embedded SQLite file.
/// Every method either completes or throws; none swallows an error (the old worker's fatal habit).
/// </summary>
public interface IReminderStore : IAsyncDisposable
{
    /// <summary>Where the data lives, safe to log: never a password.</summary>
    string Description { get; }

    /// <summary>What this store last learnt of its database, for /health/ready (it answers from it).</summary>
    DatabaseContact Contact { get; }

    /// <summary>A failure of this database in an operator's words: a refusal of its URL names the setting.</summary>
    string DescribeFailure(Exception error) => error.Message;

    /// <summary>Adds what the service needs (enum value, indexes, its own tables). Idempotent; safe to run concurrently.</summary>
    Task MigrateAsync(CancellationToken ct = default);

    /// <summary>
    /// The program's start check: the database answers and carries the migration. Throws
    /// <see cref="StoreNotReadyException"/> naming what is missing.
    /// </summary>
    Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default);

    /// <summary>
    /// One page of due interactions, oldest first, strictly after <paramref name="after"/> (keyset paging: the
    /// backlog is never held in memory, and rows another instance holds are not fetched twice in one pass).
    /// Reads only; it takes no lock.
    /// </summary>
    Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default);

    /// <summary>
    /// Writes one batch in one transaction: locks each row that is still due and unchanged since it was read
    /// (date, assignee, title: what the notification was composed from), inserts its notification and sets
    /// notified_at. All of the batch or none of it. Rows it leaves alone that are still due (another transaction
    /// holds them) are counted as held, at no cost when the whole batch is written. Throws
    /// <see cref="RowRejectedException"/> when the database refused the batch because of a row's data (the
    /// transaction is rolled back).
    /// </summary>
    Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default);

    /// <summary>
    /// Records as skipped the due rows whose next_action_at this service cannot represent (PostgreSQL accepts
    /// -infinity and dates back to 4713 BC; .NET starts at year 1), so that one such row never blocks the scan.
    /// Returns them (id and date as the database prints it), for the scan to report once.
    /// </summary>
    Task<IReadOnlyList<UnreadableRow>> ParkUnreadableAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<UnreadableRow>>([]);

    /// <summary>
    /// What lies ahead, measured by the database's clock, in one query: how long until the earliest waiting
    /// reminder comes due (null: none waits), how many are due now (the backlog), how many occurrences are parked.
    /// </summary>
    Task<ReminderOutlook> OutlookAsync(CancellationToken ct = default);

    /// <summary>Remembers an occurrence that cannot be notified, so it is reported once and never retried.</summary>
    Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default);

}

/// <param name="NextDueIn">Until the earliest waiting reminder is due, by the database's clock; null when none waits.</param>
/// <param name="DueBacklog">Reminders due now and not yet written, skipped ones excepted.</param>
/// <param name="Parked">Occurrences recorded as skipped (bad rows), reported once and never retried.</param>
public sealed record ReminderOutlook(TimeSpan? NextDueIn, long DueBacklog, long Parked);

/// <summary>A due row that cannot be read as a reminder: its id, its next_action_at as the database prints it, why.</summary>
public sealed record UnreadableRow(int InteractionId, string NextActionAt, string Reason);

/// <summary>The database refused a batch because of the data of its rows (SQLSTATE classes 22 and 23).</summary>
/// <param name="Signature">How it refused (SQLSTATE and constraint or column): rows refused alike share it.</param>
/// <param name="systemic">The refusal does not depend on a row's data (a NOT NULL column the service does not
/// fill): every row would meet it, so no row may be skipped for it.</param>
public sealed class RowRejectedException(string reason, string signature, Exception inner, bool systemic = false) : Exception(reason, inner)
{
    public string Signature { get; } = signature;
    public bool Systemic { get; } = systemic;
}

/// <summary>
/// The database refuses every row the same way: a changed schema, a missing privilege, a setting, not a bad row.
/// The program fails with the database's message, and nothing is skipped.
/// </summary>
public sealed class SystemicRefusalException(string reason, Exception inner)
    : Exception($"the database refuses every reminder, so none is skipped: {reason}", inner);

/// <summary>The database answers but is not ready for the service (typically: not migrated).</summary>
public sealed class StoreNotReadyException(string reason) : Exception(reason);
