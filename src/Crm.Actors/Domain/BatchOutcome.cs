namespace Crm.Actors.Domain;

/// <summary>
/// What became of a batch: written, no longer due when locked, skipped as a bad row, or held: still due but
/// locked by another transaction, so looked at again soon (SPEC §8).
/// </summary>
public readonly record struct BatchOutcome(int Written, int NotDue, int Skipped, int Held = 0)
{
    public static BatchOutcome operator +(BatchOutcome a, BatchOutcome b) =>
        new(a.Written + b.Written, a.NotDue + b.NotDue, a.Skipped + b.Skipped, a.Held + b.Held);
}

/// <param name="Written">Notifications inserted, each with its interaction marked notified.</param>
/// <param name="NotDue">Occurrences not written and no longer due (written by another instance, moved, closed,
/// reassigned), or already holding their notification.</param>
/// <param name="WrittenIds">The interactions whose notification this batch inserted.</param>
/// <param name="Held">Occurrences not written that are still due: another transaction held their row (another
/// instance's batch, alive or dying, or a CRM user's), or it changed since the scan read it. Nobody announces their
/// release, so the scheduler looks at them again within <c>held-recheck</c>.</param>
public sealed record BatchResult(int Written, int NotDue, IReadOnlyList<int> WrittenIds, int Held = 0)
{
    /// <summary>
    /// For each of <see cref="WrittenIds"/> (same order), how long the service took, in seconds, by the database's
    /// clock: from the moment the row became due, the later of its next_action_at and its last change (a row
    /// created already due, or moved into the past, was not due before it was written so), to its notification.
    /// </summary>
    public IReadOnlyList<double> DelaySeconds { get; init; } = [];

    public static BatchResult Of(IReadOnlyList<int> writtenIds, int batchSize, int held = 0) =>
        new(writtenIds.Count, batchSize - writtenIds.Count - held, writtenIds, held);
}
