using Crm.Actors.Reminders;
using Crm.Actors.Storage;

namespace Crm.Tests.Reminders;

public class BadRowIsolationTests
{
    private static List<DueInteraction> Batch(int count) =>
        Enumerable.Range(1, count).Select(i => new DueInteraction(i, $"Interaction {i}", 1, DateTimeOffset.UnixEpoch.AddMinutes(i))).ToList();

    [Fact]
    public async Task Should_write_every_good_row_and_report_each_bad_row_once()
    {
        var bad = new HashSet<int> { 3, 17 };
        var written = new List<int>();
        var rejected = new List<int>();
        var transactions = 0;

        var outcome = await BadRowIsolation.WriteAsync(
            Batch(20),
            batch =>
            {
                transactions++;
                // Like the database: a batch with a bad row is refused whole.
                if (batch.Any(o => bad.Contains(o.Id)))
                    throw new RowRejectedException("23514: check violation", new InvalidOperationException());
                written.AddRange(batch.Select(o => o.Id));
                return Task.FromResult(BatchResult.Of(batch.Select(o => o.Id).ToList(), batch.Count));
            },
            (occurrence, _) => { rejected.Add(occurrence.InteractionId); return Task.CompletedTask; });

        Assert.Equal(new BatchOutcome(18, 0, 2), outcome);
        Assert.Equal(Enumerable.Range(1, 20).Except(bad).Order(), written.Order());
        Assert.Equal([3, 17], rejected.Order());
        Assert.True(transactions <= 2 * 2 * Math.Ceiling(Math.Log2(20)) + 1, $"{transactions} transactions");
    }

    [Fact]
    public async Task Should_not_catch_errors_that_are_not_about_a_row()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => BadRowIsolation.WriteAsync(
            Batch(4), _ => throw new TimeoutException(), (_, _) => Task.CompletedTask));
    }
}
