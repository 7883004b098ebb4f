using Prometheus;

namespace Crm.Actors.Telemetry;

/// <summary>
/// The service's metrics, process-wide: <see cref="ServiceMetrics"/> on <see cref="Registry"/>, which <c>/metrics</c>
/// exports; each program adds its own series to the same registry when it is registered. The names, labels, buckets
/// and help texts are those the operators' dashboards and alert rules (deploy/prometheus) use.
/// </summary>
public static class CrmMetrics
{
    /// <summary>
    /// A registry of our own, not prometheus-net's default one: the default one also exports the process and .NET
    /// runtime (process_*, dotnet_*) and, through its adapters, every System.Diagnostics.Metrics instrument and
    /// EventCounter in the process (ASP.NET Core's, Npgsql's, ...), under names that change with those libraries.
    /// We chose to export only the series the README lists; adding the runtime's would be a deliberate step
    /// (<c>DotNetStats.Register(Registry)</c>).
    /// </summary>
    public static readonly ServiceMetrics Process = new(Metrics.NewCustomRegistry());

    public static CollectorRegistry Registry => Process.Registry;

    public static Total ProgramRestarts => Process.ProgramRestarts;
    public static StateGauge ProgramState => Process.ProgramState;
}

/// <summary>
/// The supervisor's series, created on one registry: every program's state and restarts. Each exists from its
/// creation on: counters and histograms at 0, labelled ones once their label values are declared (a series that
/// appears only at its first event makes rate() and increase() miss that event).
/// </summary>
public sealed class ServiceMetrics
{
    public ServiceMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        Factory = Metrics.WithCustomRegistry(registry);
        ProgramState = new StateGauge(registry, "crm_program_state", "1 for the state each program is in, 0 for the others", "program", "state");
        ProgramRestarts = new Total(Factory, "crm_program_restarts_total", "Automatic restarts of a program", label: "program");
    }

    public CollectorRegistry Registry { get; }

    /// <summary>Creates a program's own series on <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    /// <summary>The state each program is in (SPEC §5's names), one series per program and state.</summary>
    public StateGauge ProgramState { get; }

    public Total ProgramRestarts { get; }

    /// <summary>The exposition /metrics serves (Prometheus text format 0.0.4).</summary>
    public async Task<string> ExpositionAsync(CancellationToken cancel = default)
    {
        using var text = new MemoryStream();
        await Registry.CollectAndExportAsTextAsync(text, ExpositionFormat.PrometheusText, cancel);
        return System.Text.Encoding.UTF8.GetString(text.ToArray());
    }
}
