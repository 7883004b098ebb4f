using Crm.Actors.Storage;

namespace Crm.Actors.Reminders;

/// <summary>
/// When the database refuses a batch for one row's data, the batch is rolled back whole; this halves it until
/// the bad rows stand alone, writes the good halves, and reports each bad row once. A batch with one bad row
/// costs about 2·log2(batch) extra transactions, and only on the rare batch that has one.
/// </summary>
public static class BadRowIsolation
{
    public static async Task<BatchOutcome> WriteAsync(
        IReadOnlyList<DueInteraction> batch,
        Func<IReadOnlyList<DueInteraction>, Task<BatchResult>> write,
        Func<ReminderOccurrence, string, Task> reject)
    {
        try
        {
            var result = await write(batch);
            return new BatchOutcome(result.Written, result.NotDue, 0);
        }
        catch (RowRejectedException e) when (batch.Count == 1)
        {
            await reject(batch[0].Occurrence, e.Message);
            return new BatchOutcome(0, 0, 1);
        }
        catch (RowRejectedException) when (batch.Count > 1)
        {
            var half = batch.Count / 2;
            var first = await WriteAsync(batch.Take(half).ToArray(), write, reject);
            var second = await WriteAsync(batch.Skip(half).ToArray(), write, reject);
            return first + second;
        }
    }
}
