namespace Crm.Actors.Domain;

/// <summary>What became of a batch: written, no longer due when locked, or skipped as a bad row.</summary>
public readonly record struct BatchOutcome(int Written, int NotDue, int Skipped)
{
    public static BatchOutcome operator +(BatchOutcome a, BatchOutcome b) =>
        new(a.Written + b.Written, a.NotDue + b.NotDue, a.Skipped + b.Skipped);
}

/// <param name="Written">Notifications inserted, each with its interaction marked notified.</param>
/// <param name="NotDue">Occurrences not written: no longer due or changed when locked (written by another instance,
/// moved, closed, reassigned, renamed: a later scan reads them again), or already holding their notification.</param>
/// <param name="WrittenIds">The interactions whose notification this batch inserted.</param>
public sealed record BatchResult(int Written, int NotDue, IReadOnlyList<int> WrittenIds)
{
    public static BatchResult Of(IReadOnlyList<int> writtenIds, int batchSize) => new(writtenIds.Count, batchSize - writtenIds.Count, writtenIds);
}
