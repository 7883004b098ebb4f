namespace Crm.Actors.Reminders;

/// <summary>
/// How late notifications were written, per minute of writing, over the last hours: what the dashboard charts
/// (SPEC §10) and <c>GET /api/lateness</c> serves. Fed where <see cref="ReminderMetrics.ReminderDelay"/> is recorded, with
/// the same buckets, so that the chart and <c>crm_reminder_delay_seconds</c> count the same notifications.
/// Bounded: one slot per minute of the window, reused as time moves on, whatever the number of notifications.
/// </summary>
public sealed class LatenessHistory
{
    /// <summary>The process-wide history the writers feed: the last 6 hours.</summary>
    public static readonly LatenessHistory Written = new(ReminderMetrics.ReminderDelayBounds, 360);

    private readonly object _gate = new();
    private readonly double[] _bounds;
    private readonly Slot[] _slots;

    private sealed class Slot
    {
        public long Minute = long.MinValue; // minutes since the Unix epoch; MinValue: never used
        public long[] Counts = [];
        public double Sum;
        public double Max;
    }

    /// <param name="bounds">upper bounds in seconds, increasing; one more bucket counts what is above the last.</param>
    /// <param name="minutes">how many minutes are kept (the longest window that can be read).</param>
    public LatenessHistory(IReadOnlyList<double> bounds, int minutes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minutes, 1);
        _bounds = [.. bounds];
        _slots = Enumerable.Range(0, minutes).Select(_ => new Slot { Counts = new long[_bounds.Length + 1] }).ToArray();
    }

    public IReadOnlyList<double> Bounds => _bounds;

    /// <summary>The longest window <see cref="Read"/> answers, in minutes.</summary>
    public int Capacity => _slots.Length;

    /// <summary>One notification written at <paramref name="at"/>, <paramref name="seconds"/> after its next_action_at.</summary>
    public void Record(DateTimeOffset at, double seconds)
    {
        if (double.IsNaN(seconds)) return;
        seconds = Math.Max(0, seconds);
        var minute = MinuteOf(at);
        var index = Array.FindIndex(_bounds, bound => seconds <= bound);
        lock (_gate)
        {
            var slot = _slots[SlotIndex(minute)];
            if (slot.Minute != minute)
            {
                if (slot.Minute > minute) return; // older than anything kept: the window has moved past it
                slot.Minute = minute;
                Array.Clear(slot.Counts);
                slot.Sum = 0;
                slot.Max = 0;
            }
            slot.Counts[index < 0 ? _bounds.Length : index]++;
            slot.Sum += seconds;
            slot.Max = Math.Max(slot.Max, seconds);
        }
    }

    /// <summary>Every minute of the last <paramref name="minutes"/> up to the one holding <paramref name="now"/>, oldest first, empty ones included.</summary>
    public Window Read(DateTimeOffset now, int minutes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minutes);
        minutes = Math.Min(minutes, _slots.Length);
        var last = MinuteOf(now);
        var result = new List<Minute>(minutes);
        var total = new long[_bounds.Length + 1];
        double totalSum = 0, totalMax = 0;
        lock (_gate)
        {
            for (var m = last - minutes + 1; m <= last; m++)
            {
                var slot = _slots[SlotIndex(m)];
                var counts = slot.Minute == m ? (long[])slot.Counts.Clone() : new long[_bounds.Length + 1];
                var (sum, max) = slot.Minute == m ? (slot.Sum, slot.Max) : (0, 0);
                for (var i = 0; i < counts.Length; i++) total[i] += counts[i];
                totalSum += sum;
                totalMax = Math.Max(totalMax, max);
                result.Add(Summarise(DateTimeOffset.FromUnixTimeSeconds(m * 60), counts, sum, max));
            }
        }
        return new Window(_bounds, result, Summarise(DateTimeOffset.FromUnixTimeSeconds((last - minutes + 1) * 60), total, totalSum, totalMax));
    }

    private Minute Summarise(DateTimeOffset at, long[] counts, double sum, double max)
    {
        var count = counts.Sum();
        double? Quantile(double q) => count == 0 ? null : EstimateQuantile(_bounds, counts, q, max);
        return new Minute(at, count, count == 0 ? null : sum / count, Quantile(0.5), Quantile(0.95), Quantile(0.99), count == 0 ? null : max, counts);
    }

    /// <summary>
    /// The q-quantile estimated from bucket counts as Prometheus' histogram_quantile does (linear within the bucket
    /// that holds it), but never above the largest value seen, which is known exactly.
    /// </summary>
    public static double EstimateQuantile(IReadOnlyList<double> bounds, IReadOnlyList<long> counts, double q, double max)
    {
        var count = counts.Sum();
        if (count == 0) return double.NaN;
        var rank = q * count;
        long below = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            if (counts[i] > 0 && below + counts[i] >= rank)
            {
                var lower = i == 0 ? 0 : bounds[i - 1];
                var upper = i < bounds.Count ? bounds[i] : max;
                var estimate = lower + (upper - lower) * Math.Clamp((rank - below) / counts[i], 0, 1);
                return Math.Min(estimate, max);
            }
            below += counts[i];
        }
        return max;
    }

    private static long MinuteOf(DateTimeOffset at) => (long)Math.Floor(at.ToUnixTimeMilliseconds() / 60_000.0);

    private int SlotIndex(long minute) => (int)(((minute % _slots.Length) + _slots.Length) % _slots.Length);

    /// <summary>One minute: how many notifications were written in it, and how late (seconds; null when none).</summary>
    /// <param name="Buckets">per bucket of <see cref="Bounds"/>, not cumulative; the last one counts what is above every bound.</param>
    public sealed record Minute(DateTimeOffset At, long Count, double? Mean, double? P50, double? P95, double? P99, double? Max, IReadOnlyList<long> Buckets);

    /// <param name="Total">the whole window summed, <see cref="Minute.At"/> being its first minute.</param>
    public sealed record Window(IReadOnlyList<double> Bounds, IReadOnlyList<Minute> Minutes, Minute Total);
}
