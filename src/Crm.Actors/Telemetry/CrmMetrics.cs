using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Crm.Actors.Supervision;

namespace Crm.Actors.Telemetry;

/// <summary>
/// The service's instruments (System.Diagnostics.Metrics). The host exports them as Prometheus text; nothing
/// here knows about the exporter. Names follow OpenTelemetry's conventions; the exporter adds units and _total.
/// </summary>
public static class CrmMetrics
{
    public const string MeterName = "CrmActors";
    private static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> RemindersFound = Meter.CreateCounter<long>("crm.reminders.found", description: "Due reminders found by scans");
    public static readonly Counter<long> NotificationsCreated = Meter.CreateCounter<long>("crm.notifications.created", description: "Notifications written");
    public static readonly Counter<long> RowsSkipped = Meter.CreateCounter<long>("crm.reminders.skipped", description: "Rows the database refused, reported and skipped");
    public static readonly Histogram<double> ScanDuration = Meter.CreateHistogram<double>("crm.scan.duration", unit: "s", description: "Duration of a scan pass");
    public static readonly Counter<long> ProgramRestarts = Meter.CreateCounter<long>("crm.program.restarts", description: "Automatic restarts of a program");

    /// <summary>The promise: how late a notification is written after its next_action_at.</summary>
    public static readonly Histogram<double> ReminderDelay = Meter.CreateHistogram<double>(
        "crm.reminder.delay", unit: "s", description: "Delay from next_action_at to the notification",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 21600, 86400] });

    private static long _dueBacklog = -1;
    private static readonly ConcurrentDictionary<string, ProgramState> States = new();

    static CrmMetrics()
    {
        Meter.CreateObservableGauge("crm.reminders.due_backlog", () => Interlocked.Read(ref _dueBacklog) is var n && n >= 0
            ? [new Measurement<long>(n)] : Array.Empty<Measurement<long>>(), description: "Due reminders waiting, as last counted");
        Meter.CreateObservableGauge("crm.program.state", ObserveStates, description: "1 for the state each program is in, 0 for the others");
    }

    public static void SetDueBacklog(long count) => Interlocked.Exchange(ref _dueBacklog, count);

    public static void SetProgramState(string program, ProgramState state) => States[program] = state;

    private static IEnumerable<Measurement<int>> ObserveStates() =>
        from pair in States
        from state in Enum.GetValues<ProgramState>()
        select new Measurement<int>(pair.Value == state ? 1 : 0,
            new KeyValuePair<string, object?>("program", pair.Key),
            new KeyValuePair<string, object?>("state", state.ToString().ToUpperInvariant()));
}
