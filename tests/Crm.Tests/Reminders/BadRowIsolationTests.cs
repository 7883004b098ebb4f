using Crm.Actors.Domain;
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
                    throw Refused("23514 chk_title");
                written.AddRange(batch.Select(o => o.Id));
                return Task.FromResult(BatchResult.Of(batch.Select(o => o.Id).ToList(), batch.Count));
            },
            (occurrence, _) => { rejected.Add(occurrence.InteractionId); return Task.CompletedTask; });

        Assert.Equal(new BatchOutcome(18, 0, 2), outcome);
        Assert.Equal(Enumerable.Range(1, 20).Except(bad).Order(), written.Order());
        Assert.Equal([3, 17], rejected.Order());
        Assert.True(transactions <= 2 * 2 * Math.Ceiling(Math.Log2(20)) + 1, $"{transactions} transactions");
    }

    private static RowRejectedException Refused(string signature, bool systemic = false) =>
        new($"{signature}: refused", signature, new InvalidOperationException(), systemic);

    [Fact]
    public async Task Should_fail_and_skip_nothing_when_every_row_is_refused_the_same_way()
    {
        var rejected = new List<int>();
        var transactions = 0;

        await Assert.ThrowsAsync<SystemicRefusalException>(() => BadRowIsolation.WriteAsync(
            Batch(8),
            _ => { transactions++; throw Refused("23514 chk_new_rule"); },
            (occurrence, _) => { rejected.Add(occurrence.InteractionId); return Task.CompletedTask; }));

        Assert.Empty(rejected);
        Assert.Equal(15, transactions); // each half tried down to single rows, before deciding that no row is to blame
    }

    [Fact]
    public async Task Should_fail_at_once_on_a_refusal_that_no_row_can_cause()
    {
        var transactions = 0;
        await Assert.ThrowsAsync<SystemicRefusalException>(() => BadRowIsolation.WriteAsync(
            Batch(8),
            _ => { transactions++; throw Refused("23502 expires_at", systemic: true); },
            (_, _) => throw new InvalidOperationException("nothing may be skipped")));
        Assert.Equal(1, transactions);
    }

    [Fact]
    public async Task Should_skip_rows_refused_in_different_ways_even_when_none_is_written()
    {
        var rejected = new List<int>();
        var outcome = await BadRowIsolation.WriteAsync(
            Batch(2),
            batch => throw Refused(batch.Count == 1 && batch[0].Id == 1 ? "22008 datetime" : "23514 chk_title"),
            (occurrence, _) => { rejected.Add(occurrence.InteractionId); return Task.CompletedTask; });
        Assert.Equal(new BatchOutcome(0, 0, 2), outcome);
        Assert.Equal([1, 2], rejected.Order());
    }

    [Fact]
    public async Task Should_skip_a_lone_row_that_the_database_refuses_for_its_data()
    {
        var rejected = new List<int>();
        var outcome = await BadRowIsolation.WriteAsync(
            Batch(1), _ => throw Refused("23514 chk_title"),
            (occurrence, _) => { rejected.Add(occurrence.InteractionId); return Task.CompletedTask; });
        Assert.Equal(new BatchOutcome(0, 0, 1), outcome);
        Assert.Equal([1], rejected);
    }

    [Fact]
    public async Task Should_not_catch_errors_that_are_not_about_a_row()
    {
        await Assert.ThrowsAsync<TimeoutException>(() => BadRowIsolation.WriteAsync(
            Batch(4), _ => throw new TimeoutException(), (_, _) => Task.CompletedTask));
    }
}
