using System.Collections.Concurrent;
using Prometheus;

namespace Crm.Actors.Telemetry;

/// <summary>A prometheus-net counter, unlabelled or with one label, in the shape the service's callers use.</summary>
public sealed class Total
{
    private readonly Counter _counter;
    private readonly string? _label;

    public Total(IMetricFactory factory, string name, string help, string? label = null)
    {
        _label = label;
        _counter = factory.CreateCounter(name, help, label is null ? [] : [label]);
    }

    public void Add(long delta)
    {
        if (_label is not null) throw new InvalidOperationException($"{_counter.Name} needs its {_label} label");
        _counter.Inc(delta);
    }

    public void Add(string labelValue, long delta)
    {
        if (_label is null) throw new InvalidOperationException($"{_counter.Name} has no label");
        _counter.WithLabels(labelValue).Inc(delta);
    }

    /// <summary>Exports the series of <paramref name="labelValue"/> at 0 until it moves.</summary>
    public void Declare(string labelValue) => _counter.WithLabels(labelValue);

    /// <summary>The total so far; 0 for a label value never declared (and it stays undeclared).</summary>
    public long Read(string labelValue = "")
    {
        if (_label is null) return (long)_counter.Value;
        return _counter.GetAllLabelValues().Any(values => values[0] == labelValue) ? (long)_counter.WithLabels(labelValue).Value : 0;
    }
}

/// <summary>A prometheus-net histogram with fixed upper bounds (+Inf added by the library); NaN is ignored.</summary>
public sealed class Buckets
{
    private readonly Histogram _histogram;

    public Buckets(IMetricFactory factory, string name, string help, IReadOnlyList<double> bounds)
    {
        Bounds = bounds;
        _histogram = factory.CreateHistogram(name, help, new HistogramConfiguration { Buckets = [.. bounds] });
    }

    public IReadOnlyList<double> Bounds { get; }

    public void Record(double value) => _histogram.Observe(value);
}

/// <summary>
/// A gauge that says which of a fixed set of states each subject is in: 1 for its state, 0 for the others, so
/// that every series exists from the subject's declaration on. The states are kept here and written to the gauge
/// just before each collection, so that a scrape sees each subject in one state, never in two or none as it could
/// between the separate writes of a transition (short of two scrapes overlapping across it).
/// </summary>
public sealed class StateGauge
{
    private readonly Gauge _gauge;
    private readonly ConcurrentDictionary<string, (string State, IReadOnlyList<string> States)> _subjects = new(StringComparer.Ordinal);
    private readonly Lock _writing = new();

    internal StateGauge(CollectorRegistry registry, string name, string help, string subjectLabel, string stateLabel)
    {
        _gauge = Metrics.WithCustomRegistry(registry).CreateGauge(name, help, [subjectLabel, stateLabel]);
        registry.AddBeforeCollectCallback(WriteGauge);
    }

    /// <param name="states">Every state the subject can be in.</param>
    public void Set(string subject, string state, IReadOnlyList<string> states) => _subjects[subject] = (state, states);

    /// <summary>Exports <paramref name="subject"/> in <paramref name="state"/> unless it already has one.</summary>
    public void Declare(string subject, string state, IReadOnlyList<string> states) => _subjects.TryAdd(subject, (state, states));

    /// <summary>The state <paramref name="subject"/> is exported in, or null before it is declared.</summary>
    public string? StateOf(string subject) => _subjects.TryGetValue(subject, out var entry) ? entry.State : null;

    private void WriteGauge()
    {
        lock (_writing)
            foreach (var (subject, (current, states)) in _subjects)
                foreach (var state in states)
                    _gauge.WithLabels(subject, state).Set(state == current ? 1 : 0);
    }
}
