using System.Collections.Concurrent;

namespace Crm.Actors.Telemetry;

/// <summary>
/// The service's metrics, process-wide, written as Prometheus text by <see cref="Collect"/>. Every series exists
/// from the start at 0 (a counter or histogram that appears only at its first event makes rate() and increase()
/// miss that event; OpenTelemetry's exporter, used before, leaves out instruments that never recorded).
/// </summary>
public static class CrmMetrics
{
    public static readonly Total RemindersFound = new("crm_reminders_found_total", "Due reminders found by scans");
    public static readonly Total NotificationsCreated = new("crm_notifications_created_total", "Notifications written");
    public static readonly Total RowsSkipped = new("crm_reminders_skipped_total", "Rows the database refused, reported and skipped");
    public static readonly Total ProgramRestarts = new("crm_program_restarts_total", "Automatic restarts of a program", label: "program");

    /// <summary>Seconds, from 1 ms (an empty scan) to 10 min (a large backlog on a slow database).</summary>
    public static readonly Buckets ScanDuration = new("crm_scan_duration_seconds", "Duration of a scan pass",
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]);

    /// <summary>The promise: how late a notification is written after its next_action_at, from sub-second to a day.</summary>
    public static readonly Buckets ReminderDelay = new("crm_reminder_delay_seconds", "Delay from next_action_at to the notification",
        [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 300, 900, 3600, 21600, 86400]);

    private static long _dueBacklog;
    private static long _skippedParked;

    /// <summary>Due reminders waiting, as last counted (0 until the first count).</summary>
    public static void SetDueBacklog(long count) => Interlocked.Exchange(ref _dueBacklog, count);

    /// <summary>Occurrences parked in skipped_occurrences, as last counted (0 until the first count).</summary>
    public static void SetSkippedParked(long count) => Interlocked.Exchange(ref _skippedParked, count);

    /// <summary>The state each program is in (SPEC §5's names), one series per program and state.</summary>
    public static readonly StateGauge ProgramState = new("crm_program_state", "1 for the state each program is in, 0 for the others", "program", "state");

    public static IReadOnlyList<MetricFamily> Collect() =>
    [
        RemindersFound.Collect(),
        NotificationsCreated.Collect(),
        RowsSkipped.Collect(),
        ScanDuration.Collect(),
        Gauge("crm_reminders_due_backlog", "Due reminders waiting, as last counted", Interlocked.Read(ref _dueBacklog)),
        Gauge("crm_reminders_skipped_parked", "Occurrences parked in crm_actors.skipped_occurrences, as last counted", Interlocked.Read(ref _skippedParked)),
        ReminderDelay.Collect(),
        ProgramState.Collect(),
        ProgramRestarts.Collect(),
    ];

    private static MetricFamily Gauge(string name, string help, long value) => new(name, "gauge", help, [MetricSample.Of(value)]);
}

/// <summary>
/// A gauge that says which of a fixed set of states each subject is in: 1 for its state, 0 for the others, so
/// that every series exists from the subject's declaration on.
/// </summary>
public sealed class StateGauge(string name, string help, string subjectLabel, string stateLabel)
{
    private readonly ConcurrentDictionary<string, (string State, IReadOnlyList<string> States)> _subjects = new(StringComparer.Ordinal);

    /// <param name="states">Every state the subject can be in, in the order they are exported.</param>
    public void Set(string subject, string state, IReadOnlyList<string> states) => _subjects[subject] = (state, states);

    /// <summary>Exports <paramref name="subject"/> in <paramref name="state"/> unless it already has one.</summary>
    public void Declare(string subject, string state, IReadOnlyList<string> states) => _subjects.TryAdd(subject, (state, states));

    public MetricFamily Collect() => new(name, "gauge", help,
    [
        .. from subject in _subjects.OrderBy(s => s.Key, StringComparer.Ordinal)
           from state in subject.Value.States
           select MetricSample.Of(subject.Value.State == state ? 1 : 0, new(subjectLabel, subject.Key), new(stateLabel, state)),
    ]);
}

/// <summary>A counter: a total since the process started, per value of its one label (or without a label).</summary>
public sealed class Total
{
    private readonly string _name;
    private readonly string _help;
    private readonly string? _label;
    private readonly ConcurrentDictionary<string, Cell> _totals = new(StringComparer.Ordinal);

    private sealed class Cell
    {
        public long Value;
    }

    public Total(string name, string help, string? label = null)
    {
        (_name, _help, _label) = (name, help, label);
        if (label is null) Declare("");
    }

    public void Add(long delta)
    {
        if (_label is not null) throw new InvalidOperationException($"{_name} needs its {_label} label");
        Interlocked.Add(ref _totals[""].Value, delta);
    }

    /// <summary>The shape System.Diagnostics.Metrics' Counter.Add has, which the callers were written against.</summary>
    public void Add(long delta, KeyValuePair<string, object?> tag)
    {
        if (tag.Key != _label) throw new ArgumentException($"{_name} is labelled by {_label ?? "nothing"}, not {tag.Key}", nameof(tag));
        Interlocked.Add(ref _totals.GetOrAdd(tag.Value?.ToString() ?? "", _ => new Cell()).Value, delta);
    }

    /// <summary>Exports the series of <paramref name="labelValue"/> at 0 until it moves.</summary>
    public void Declare(string labelValue) => _totals.GetOrAdd(labelValue, _ => new Cell());

    public long Read(string labelValue = "") => _totals.TryGetValue(labelValue, out var box) ? Interlocked.Read(ref box.Value) : 0;

    public MetricFamily Collect() => new(_name, "counter", _help,
    [
        .. _totals.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => _label is null
            ? MetricSample.Of(Interlocked.Read(ref t.Value.Value))
            : MetricSample.Of(Interlocked.Read(ref t.Value.Value), new KeyValuePair<string, string>(_label, t.Key))),
    ]);
}

/// <summary>A histogram with fixed upper bounds: cumulative counts, a sum and a count, from 0 at the start.</summary>
public sealed class Buckets(string name, string help, double[] bounds)
{
    private readonly object _gate = new();
    private readonly long[] _counts = new long[bounds.Length + 1]; // the last one: above every bound (+Inf)
    private double _sum;

    public IReadOnlyList<double> Bounds => bounds;

    public void Record(double value)
    {
        if (double.IsNaN(value)) return; // no bucket holds it, and it would make the sum NaN for good
        var index = Array.FindIndex(bounds, bound => value <= bound);
        lock (_gate)
        {
            _counts[index < 0 ? bounds.Length : index]++;
            _sum += value;
        }
    }

    public MetricFamily Collect()
    {
        long[] counts;
        double sum;
        lock (_gate) (counts, sum) = ((long[])_counts.Clone(), _sum);
        return new MetricFamily(name, "histogram", help, Samples(bounds, counts, sum));
    }

    /// <summary>Prometheus' buckets are cumulative: each counts every value up to its bound.</summary>
    public static IReadOnlyList<MetricSample> Samples(IReadOnlyList<double> bounds, IReadOnlyList<long> counts, double sum)
    {
        var samples = new List<MetricSample>();
        long cumulative = 0;
        for (var i = 0; i <= bounds.Count; i++)
        {
            cumulative += counts[i];
            var le = i < bounds.Count ? PrometheusText.Number(bounds[i]) : "+Inf";
            samples.Add(new MetricSample("_bucket", [new("le", le)], cumulative));
        }
        samples.Add(new MetricSample("_sum", [], sum));
        samples.Add(new MetricSample("_count", [], cumulative));
        return samples;
    }
}
