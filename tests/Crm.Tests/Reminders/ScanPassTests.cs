using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Step = Crm.Actors.Reminders.ScanPass.Step;

namespace Crm.Tests.Reminders;

/// <summary>The scan's paging and read-ahead, without an actor system.</summary>
public class ScanPassTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);

    private static List<DueInteraction> Page(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => new DueInteraction(i, $"Interaction {i}", 1, T0.AddSeconds(i)))];

    private static BatchOutcome Written(int count) => new(count, 0, 0);

    [Fact]
    public void Should_read_one_page_ahead_and_give_each_writer_at_most_one_batch()
    {
        var pass = new ScanPass(writers: 2, batchSize: 3, "tick", T0);
        Assert.Equal([new Step.Load(null)], pass.Start());

        // The first page goes to writer 0 and the next is read at once.
        var steps = pass.PageLoaded(Page(1, 3), parked: 0);
        var first = Assert.IsType<Step.Dispatch>(steps[0]);
        Assert.Equal((1L, 0, 3), (first.Sequence, first.Writer, first.Page.Count));
        Assert.Equal(new Step.Load(new ReminderOccurrence(3, T0.AddSeconds(3))), steps[1]);

        // The second to writer 1, a third read ahead; the fourth waits for a free writer.
        steps = pass.PageLoaded(Page(4, 3), parked: 0);
        Assert.Equal((2L, 1), (((Step.Dispatch)steps[0]).Sequence, ((Step.Dispatch)steps[0]).Writer));
        Assert.IsType<Step.Load>(steps[1]);
        Assert.Empty(pass.PageLoaded(Page(7, 3), parked: 0)); // read ahead, both writers busy: held, nothing more read

        // Writer 1 answers: it gets the page read ahead, and the next page is read.
        steps = pass.BatchWritten(2, Written(3));
        Assert.Equal((3L, 1), (((Step.Dispatch)steps[0]).Sequence, ((Step.Dispatch)steps[0]).Writer));
        Assert.Equal(new Step.Load(new ReminderOccurrence(9, T0.AddSeconds(9))), steps[1]);
        Assert.Equal([1L, 3L], pass.InFlight.Order());
    }

    [Fact]
    public void Should_complete_once_a_short_page_was_read_and_every_batch_answered()
    {
        var pass = new ScanPass(writers: 2, batchSize: 3, "tick", T0);
        pass.Start();
        pass.PageLoaded(Page(1, 3), parked: 2); // batch 1 to writer 0, the next page read
        // A short page: the last. Batch 2 goes to writer 1, and nothing more is read.
        var dispatch = Assert.IsType<Step.Dispatch>(Assert.Single(pass.PageLoaded(Page(4, 1), parked: 0)));
        Assert.Equal((2L, 1, 1), (dispatch.Sequence, dispatch.Writer, dispatch.Page.Count));
        Assert.Empty(pass.BatchWritten(1, Written(3)));
        var done = Assert.IsType<Step.Completed>(Assert.Single(pass.BatchWritten(2, new BatchOutcome(0, 0, 0, Held: 1))));
        Assert.Equal((6, 2, 3, 2, 1), (done.Report.Found, done.Report.Batches, done.Report.Outcome.Written, done.Report.Outcome.Skipped, done.Report.Outcome.Held));
    }

    [Fact]
    public void Should_complete_at_once_when_nothing_is_due()
    {
        var pass = new ScanPass(writers: 4, batchSize: 1000, "tick", T0);
        pass.Start();
        var done = Assert.IsType<Step.Completed>(Assert.Single(pass.PageLoaded([], parked: 0)));
        Assert.Equal((0, 0), (done.Report.Found, done.Report.Batches));
    }

    [Fact]
    public void Should_drop_the_page_read_ahead_on_a_drain_and_end_once_nothing_is_in_flight()
    {
        var pass = new ScanPass(writers: 1, batchSize: 2, "tick", T0);
        pass.Start();
        pass.PageLoaded(Page(1, 2), parked: 0);   // batch 1 to the writer, the next page read
        Assert.Empty(pass.Drain());               // batch 1 in flight, a page being read
        Assert.Empty(pass.PageLoaded(Page(3, 2), parked: 0)); // not handed out, nothing more read
        Assert.Equal([Step.Drained.Instance], pass.BatchWritten(1, Written(2)));
        Assert.Equal(2, pass.Report.Outcome.Written);
    }

    [Fact]
    public void Should_ignore_an_answer_for_a_batch_it_did_not_hand_out_and_never_reuse_a_sequence()
    {
        var first = new ScanPass(writers: 1, batchSize: 2, "tick", T0);
        first.Start();
        first.PageLoaded(Page(1, 2), parked: 0);
        Assert.Empty(first.BatchWritten(99, Written(2)));
        Assert.True(first.IsInFlight(1));

        var next = new ScanPass(writers: 1, batchSize: 2, "tick", T0);
        next.Start(first.LastSequence);
        var dispatch = Assert.IsType<Step.Dispatch>(next.PageLoaded(Page(1, 2), parked: 0)[0]);
        Assert.Equal(2, dispatch.Sequence); // a late answer for batch 1 of the first pass cannot be taken for this one
        Assert.False(next.IsInFlight(1));
    }
}
