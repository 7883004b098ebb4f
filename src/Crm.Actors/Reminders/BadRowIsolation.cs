using Crm.Actors.Domain;
using Crm.Actors.Storage;

namespace Crm.Actors.Reminders;

/// <summary>
/// When the database refuses a batch for its rows' data, the batch is rolled back whole; this halves it until
/// the refused rows stand alone and writes the good halves. A refused row is skipped (recorded and reported
/// once) only when its neighbours were not all refused the same way: a refusal that every row of the batch meets
/// is the schema's, a privilege's or a setting's, not a row's, and skipping would park the whole backlog. Then
/// nothing is skipped and the batch fails (<see cref="SystemicRefusalException"/>). A batch with one bad row costs
/// about 2·log2(batch) extra transactions, and only on the rare batch that has one.
/// </summary>
public static class BadRowIsolation
{
    public static async Task<BatchOutcome> WriteAsync(
        IReadOnlyList<DueInteraction> batch,
        Func<IReadOnlyList<DueInteraction>, Task<BatchResult>> write,
        Func<ReminderOccurrence, string, Task> reject)
    {
        var refused = new List<(ReminderOccurrence Occurrence, RowRejectedException Error)>();
        var outcome = await WriteOrSplitAsync(batch, write, refused);
        if (IsSystemic(batch.Count, refused.Select(r => r.Error).ToList()))
            throw new SystemicRefusalException(refused[0].Error.Message, refused[0].Error);
        foreach (var (occurrence, error) in refused)
            await reject(occurrence, error.Message);
        return outcome with { Skipped = refused.Count };
    }

    /// <summary>Every row of a batch of several was refused, and all alike: the rows are not what the database refuses.</summary>
    public static bool IsSystemic(int batchSize, IReadOnlyList<RowRejectedException> refusals) =>
        refusals.Count > 0 && refusals.Count == batchSize && batchSize > 1
        && refusals.All(r => r.Signature == refusals[0].Signature);

    private static async Task<BatchOutcome> WriteOrSplitAsync(
        IReadOnlyList<DueInteraction> batch,
        Func<IReadOnlyList<DueInteraction>, Task<BatchResult>> write,
        List<(ReminderOccurrence, RowRejectedException)> refused)
    {
        try
        {
            var result = await write(batch);
            return new BatchOutcome(result.Written, result.NotDue, 0, result.Held);
        }
        catch (RowRejectedException e) when (e.Systemic)
        {
            throw new SystemicRefusalException(e.Message, e);
        }
        catch (RowRejectedException e) when (batch.Count == 1)
        {
            refused.Add((batch[0].Occurrence, e));
            return default;
        }
        catch (RowRejectedException) when (batch.Count > 1)
        {
            var half = batch.Count / 2;
            var first = await WriteOrSplitAsync(batch.Take(half).ToArray(), write, refused);
            var second = await WriteOrSplitAsync(batch.Skip(half).ToArray(), write, refused);
            return first + second;
        }
    }
}
