using Crm.Actors.Telemetry;
using Prometheus;

namespace Crm.Actors.Reminders;

/// <summary>
/// reminder_worker's series, on the service's registry beside the supervisor's: created when the program is
/// registered, so that each is exported from the first scrape on (at 0 until it moves).
/// </summary>
public sealed class ReminderMetrics
{
    private static readonly Lazy<ReminderMetrics> ProcessWide = new(() => new ReminderMetrics(CrmMetrics.Process));

    /// <summary>The process-wide series, on <see cref="CrmMetrics.Registry"/>.</summary>
    public static ReminderMetrics Process => ProcessWide.Value;

    /// <summary>Seconds, from 1 ms (an empty scan) to 10 min (a large backlog on a slow database).</summary>
    public static readonly IReadOnlyList<double> ScanDurationBounds =
        [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    /// <summary>The promise: how late a notification is written after it came due, from sub-second to a day.</summary>
    public static readonly IReadOnlyList<double> ReminderDelayBounds =
        [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 15, 30, 60, 300, 900, 3600, 21600, 86400];

    public ReminderMetrics(ServiceMetrics service)
    {
        var factory = service.Factory;
        RemindersFound = new Total(factory, "crm_reminders_found_total", "Due reminders found by scans");
        NotificationsCreated = new Total(factory, "crm_notifications_created_total", "Notifications written");
        RowsSkipped = new Total(factory, "crm_reminders_skipped_total", "Rows the database refused, reported and skipped");
        ScanDuration = new Buckets(factory, "crm_scan_duration_seconds", "Duration of a scan pass", ScanDurationBounds);
        LastSuccess = factory.CreateGauge("crm_scan_last_success_timestamp_seconds",
            "Unix time of the last scan that completed, 0 before the first");
        DueBacklog = factory.CreateGauge("crm_reminders_due_backlog", "Due reminders waiting, as last counted");
        SkippedParked = factory.CreateGauge("crm_reminders_skipped_parked", "Occurrences parked in crm_actors.skipped_occurrences, as last counted");
        ReminderDelay = new Buckets(factory, "crm_reminder_delay_seconds", "Delay from when the reminder came due (the later of next_action_at and the row's updated_at) to the notification", ReminderDelayBounds);
    }

    public Total RemindersFound { get; }
    public Total NotificationsCreated { get; }
    public Total RowsSkipped { get; }
    public Buckets ScanDuration { get; }

    /// <summary>Unix seconds of the last completed scan: alerts compare it with time() (no successful scan within two intervals).</summary>
    public Gauge LastSuccess { get; }

    public Gauge DueBacklog { get; }
    public Gauge SkippedParked { get; }
    public Buckets ReminderDelay { get; }
}
