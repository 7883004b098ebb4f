using Prometheus;

namespace Crm.Actors.Telemetry;

/// <summary>
/// The service's metrics, process-wide: <see cref="ServiceMetrics"/> on <see cref="Registry"/>, which <c>/metrics</c>
/// exports. The names, labels, buckets and help texts are those the operators' dashboards and alert rules use.
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

    public static Total RemindersFound => Process.RemindersFound;
    public static Total NotificationsCreated => Process.NotificationsCreated;
    public static Total RowsSkipped => Process.RowsSkipped;
    public static Total ProgramRestarts => Process.ProgramRestarts;
    public static Buckets ScanDuration => Process.ScanDuration;
    public static Buckets ReminderDelay => Process.ReminderDelay;
    public static StateGauge ProgramState => Process.ProgramState;

    /// <summary>Due reminders waiting, as last counted (0 until the first count).</summary>
    public static void SetDueBacklog(long count) => Process.DueBacklog.Set(count);

    /// <summary>Occurrences parked in skipped_occurrences, as last counted (0 until the first count).</summary>
    public static void SetSkippedParked(long count) => Process.SkippedParked.Set(count);

    /// <summary>The value of the unlabelled gauge named <paramref name="name"/>, as /metrics exports it.</summary>
    public static long GaugeValue(string name) => name switch
    {
        ServiceMetrics.DueBacklogName => (long)Process.DueBacklog.Value,
        ServiceMetrics.SkippedParkedName => (long)Process.SkippedParked.Value,
        _ => throw new ArgumentException($"{name} is not one of the service's unlabelled gauges", nameof(name)),
    };
}

/// <summary>
/// Every series of the service, created on one registry. Each exists from its creation on: counters and histograms
/// at 0, labelled ones once their label values are declared (a series that appears only at its first event makes
/// rate() and increase() miss that event; OpenTelemetry's exporter, used before, left out what had not moved yet).
/// </summary>
public sealed class ServiceMetrics
{
    public const string DueBacklogName = "crm_reminders_due_backlog";
    public const string SkippedParkedName = "crm_reminders_skipped_parked";

    /// <summary>Seconds, from 1 ms (an empty scan) to 10 min (a large backlog on a slow database).</summary>
    public static readonly IReadOnlyList<double> ScanDurationBounds =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>The promise: how late a notification is written after its next_action_at, from sub-second to a day.</summary>
    public static readonly IReadOnlyList<double> ReminderDelayBounds =
        [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 300, 900, 3600, 21600, 86400];

    public ServiceMetrics(CollectorRegistry registry)
    {
        Registry = registry;
        var factory = Metrics.WithCustomRegistry(registry);
        RemindersFound = new Total(factory, "crm_reminders_found_total", "Due reminders found by scans");
        NotificationsCreated = new Total(factory, "crm_notifications_created_total", "Notifications written");
        RowsSkipped = new Total(factory, "crm_reminders_skipped_total", "Rows the database refused, reported and skipped");
        ScanDuration = new Buckets(factory, "crm_scan_duration_seconds", "Duration of a scan pass", ScanDurationBounds);
        DueBacklog = factory.CreateGauge(DueBacklogName, "Due reminders waiting, as last counted");
        SkippedParked = factory.CreateGauge(SkippedParkedName, "Occurrences parked in crm_actors.skipped_occurrences, as last counted");
        ReminderDelay = new Buckets(factory, "crm_reminder_delay_seconds", "Delay from next_action_at to the notification", ReminderDelayBounds);
        ProgramState = new StateGauge(registry, "crm_program_state", "1 for the state each program is in, 0 for the others", "program", "state");
        ProgramRestarts = new Total(factory, "crm_program_restarts_total", "Automatic restarts of a program", label: "program");
    }

    public CollectorRegistry Registry { get; }

    public Total RemindersFound { get; }
    public Total NotificationsCreated { get; }
    public Total RowsSkipped { get; }
    public Buckets ScanDuration { get; }
    public Gauge DueBacklog { get; }
    public Gauge SkippedParked { get; }
    public Buckets ReminderDelay { get; }

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
