using Crm.Actors.Reminders;

namespace Crm.Tests.Telemetry;

public class LatenessHistoryTests
{
    private static readonly double[] Bounds = [0.1, 1, 10, 60];
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 13, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_count_each_notification_in_the_minute_it_was_written_and_the_bucket_of_its_delay()
    {
        var history = new LatenessHistory(Bounds, 10);
        history.Record(T0.AddSeconds(5), 0.05);
        history.Record(T0.AddSeconds(59.9), 0.5);
        history.Record(T0.AddMinutes(2).AddSeconds(1), 30);
        history.Record(T0.AddMinutes(2).AddSeconds(2), 3600); // above every bound
        history.Record(T0.AddMinutes(2).AddSeconds(3), -1); // a clock a little behind the database's: on time

        var window = history.Read(T0.AddMinutes(2).AddSeconds(30), 3);

        Assert.Equal([T0, T0.AddMinutes(1), T0.AddMinutes(2)], window.Minutes.Select(m => m.At));
        Assert.Equal([2L, 0L, 3L], window.Minutes.Select(m => m.Count));
        Assert.Equal([1L, 1, 0, 0, 0], window.Minutes[0].Buckets);
        Assert.Equal([1L, 0, 0, 1, 1], window.Minutes[2].Buckets);
        Assert.Null(window.Minutes[1].P95);
        Assert.Equal(0.5, window.Minutes[0].Max);
        Assert.Equal(3600, window.Minutes[2].Max);
        Assert.Equal(T0, window.Total.At);
        Assert.Equal(5, window.Total.Count);
        Assert.Equal([2L, 1, 0, 1, 1], window.Total.Buckets);
        Assert.Equal((0.05 + 0.5 + 30 + 3600) / 5, window.Total.Mean!.Value, 6);
    }

    [Fact]
    public void Should_forget_minutes_older_than_its_capacity_whatever_was_written()
    {
        var history = new LatenessHistory(Bounds, 3);
        for (var minute = 0; minute < 10; minute++)
            for (var n = 0; n <= minute; n++) history.Record(T0.AddMinutes(minute), 0.2);

        var window = history.Read(T0.AddMinutes(9), 60); // more than it keeps: the capacity

        Assert.Equal([8L, 9L, 10L], window.Minutes.Select(m => m.Count));
        Assert.Equal(27, window.Total.Count);
        history.Record(T0.AddMinutes(2), 0.2); // older than the window: dropped, never counted in a newer minute
        Assert.Equal(27, history.Read(T0.AddMinutes(9), 3).Total.Count);
        Assert.Equal([0L, 0L, 0L], history.Read(T0.AddMinutes(20), 3).Minutes.Select(m => m.Count)); // nothing since
        Assert.Empty(history.Read(T0, 0).Minutes);
    }

    [Fact]
    public void Should_estimate_quantiles_within_their_bucket_and_never_above_the_slowest()
    {
        // 100 delays: 90 in (0, 0.1], 10 in (1, 10] of which the slowest is 4 s.
        long[] counts = [90, 0, 10, 0, 0];
        Assert.Equal(0.1 * 50 / 90, LatenessHistory.EstimateQuantile(Bounds, counts, 0.5, 4), 9);
        Assert.Equal(1 + 9 * 0.5, LatenessHistory.EstimateQuantile(Bounds, counts, 0.95, 10), 9); // halfway through (1, 10]
        Assert.Equal(4, LatenessHistory.EstimateQuantile(Bounds, counts, 0.95, 4)); // but the slowest took 4 s
        Assert.Equal(4, LatenessHistory.EstimateQuantile(Bounds, counts, 0.99, 4));
        Assert.Equal(120, LatenessHistory.EstimateQuantile(Bounds, [0, 0, 0, 0, 2], 1, 120)); // above every bound: the slowest
        Assert.True(double.IsNaN(LatenessHistory.EstimateQuantile(Bounds, [0, 0, 0, 0, 0], 0.5, 0)));
    }

    [Fact]
    public void Should_share_the_delay_metrics_buckets()
    {
        Assert.Equal(ReminderMetrics.ReminderDelayBounds, LatenessHistory.Written.Bounds);
        Assert.Equal(360, LatenessHistory.Written.Capacity);
    }
}
