using Crm.Actors.Reminders;
using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;
using Crm.Tests.Admin;
using Prometheus;

namespace Crm.Tests.Telemetry;

/// <summary>The service's series on prometheus-net, read as /metrics writes them.</summary>
public class CrmMetricsTests
{
    /// <summary>
    /// What the hand-written exposition wrote on a fresh host with two programs, before prometheus-net: the names,
    /// labels, buckets and help texts the operators' dashboards and alert rules rely on.
    /// </summary>
    private const string FreshExposition = """
        # HELP crm_reminders_found_total Due reminders found by scans
        # TYPE crm_reminders_found_total counter
        crm_reminders_found_total 0
        # HELP crm_notifications_created_total Notifications written
        # TYPE crm_notifications_created_total counter
        crm_notifications_created_total 0
        # HELP crm_reminders_skipped_total Rows the database refused, reported and skipped
        # TYPE crm_reminders_skipped_total counter
        crm_reminders_skipped_total 0
        # HELP crm_scan_duration_seconds Duration of a scan pass
        # TYPE crm_scan_duration_seconds histogram
        crm_scan_duration_seconds_bucket{le="0.001"} 0
        crm_scan_duration_seconds_bucket{le="0.0025"} 0
        crm_scan_duration_seconds_bucket{le="0.005"} 0
        crm_scan_duration_seconds_bucket{le="0.01"} 0
        crm_scan_duration_seconds_bucket{le="0.025"} 0
        crm_scan_duration_seconds_bucket{le="0.05"} 0
        crm_scan_duration_seconds_bucket{le="0.1"} 0
        crm_scan_duration_seconds_bucket{le="0.25"} 0
        crm_scan_duration_seconds_bucket{le="0.5"} 0
        crm_scan_duration_seconds_bucket{le="1"} 0
        crm_scan_duration_seconds_bucket{le="2.5"} 0
        crm_scan_duration_seconds_bucket{le="5"} 0
        crm_scan_duration_seconds_bucket{le="10"} 0
        crm_scan_duration_seconds_bucket{le="30"} 0
        crm_scan_duration_seconds_bucket{le="60"} 0
        crm_scan_duration_seconds_bucket{le="120"} 0
        crm_scan_duration_seconds_bucket{le="300"} 0
        crm_scan_duration_seconds_bucket{le="600"} 0
        crm_scan_duration_seconds_bucket{le="+Inf"} 0
        crm_scan_duration_seconds_sum 0
        crm_scan_duration_seconds_count 0
        # HELP crm_scan_last_success_timestamp_seconds Unix time of the last scan that completed, 0 before the first
        # TYPE crm_scan_last_success_timestamp_seconds gauge
        crm_scan_last_success_timestamp_seconds 0
        # HELP crm_reminders_due_backlog Due reminders waiting, as last counted
        # TYPE crm_reminders_due_backlog gauge
        crm_reminders_due_backlog 0
        # HELP crm_reminders_skipped_parked Occurrences parked in crm_actors.skipped_occurrences, as last counted
        # TYPE crm_reminders_skipped_parked gauge
        crm_reminders_skipped_parked 0
        # HELP crm_reminder_delay_seconds Delay from when the reminder came due (the later of next_action_at and the row's updated_at) to the notification
        # TYPE crm_reminder_delay_seconds histogram
        crm_reminder_delay_seconds_bucket{le="0.05"} 0
        crm_reminder_delay_seconds_bucket{le="0.1"} 0
        crm_reminder_delay_seconds_bucket{le="0.25"} 0
        crm_reminder_delay_seconds_bucket{le="0.5"} 0
        crm_reminder_delay_seconds_bucket{le="1"} 0
        crm_reminder_delay_seconds_bucket{le="2"} 0
        crm_reminder_delay_seconds_bucket{le="5"} 0
        crm_reminder_delay_seconds_bucket{le="15"} 0
        crm_reminder_delay_seconds_bucket{le="30"} 0
        crm_reminder_delay_seconds_bucket{le="60"} 0
        crm_reminder_delay_seconds_bucket{le="300"} 0
        crm_reminder_delay_seconds_bucket{le="900"} 0
        crm_reminder_delay_seconds_bucket{le="3600"} 0
        crm_reminder_delay_seconds_bucket{le="21600"} 0
        crm_reminder_delay_seconds_bucket{le="86400"} 0
        crm_reminder_delay_seconds_bucket{le="+Inf"} 0
        crm_reminder_delay_seconds_sum 0
        crm_reminder_delay_seconds_count 0
        # HELP crm_program_state 1 for the state each program is in, 0 for the others
        # TYPE crm_program_state gauge
        crm_program_state{program="reminder_worker",state="STOPPED"} 1
        crm_program_state{program="reminder_worker",state="STARTING"} 0
        crm_program_state{program="reminder_worker",state="RUNNING"} 0
        crm_program_state{program="reminder_worker",state="BACKOFF"} 0
        crm_program_state{program="reminder_worker",state="STOPPING"} 0
        crm_program_state{program="reminder_worker",state="EXITED"} 0
        crm_program_state{program="reminder_worker",state="FATAL"} 0
        crm_program_state{program="second",state="STOPPED"} 1
        crm_program_state{program="second",state="STARTING"} 0
        crm_program_state{program="second",state="RUNNING"} 0
        crm_program_state{program="second",state="BACKOFF"} 0
        crm_program_state{program="second",state="STOPPING"} 0
        crm_program_state{program="second",state="EXITED"} 0
        crm_program_state{program="second",state="FATAL"} 0
        # HELP crm_program_restarts_total Automatic restarts of a program
        # TYPE crm_program_restarts_total counter
        crm_program_restarts_total{program="reminder_worker"} 0
        crm_program_restarts_total{program="second"} 0
        """;

    /// <summary>The supervisor's series with reminder_worker's, as a host that registered it has them.</summary>
    private static Fresh Fresh(params string[] programs)
    {
        var metrics = new ServiceMetrics(Metrics.NewCustomRegistry());
        ProgramMetrics.Declare(metrics, programs);
        return new Fresh(metrics, new ReminderMetrics(metrics));
    }

    private static async Task<string[]> LinesAsync(Fresh metrics) =>
        (await metrics.Service.ExpositionAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>The value of the sample written exactly as <paramref name="series"/> (name and labels).</summary>
    private static async Task<string> ValueAsync(Fresh metrics, string series) =>
        (await LinesAsync(metrics)).Single(line => line.StartsWith(series + " ", StringComparison.Ordinal))[(series.Length + 1)..];

    [Fact]
    public async Task Should_expose_every_series_of_a_fresh_registry_at_0_as_the_hand_written_exposition_did()
    {
        var lines = await LinesAsync(Fresh("reminder_worker", "second"));

        Assert.Equal(FreshExposition.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal), lines.Order(StringComparer.Ordinal));
        foreach (var name in MetricsExpositionTests.ReadmeMetrics())
            Assert.Contains($"# TYPE {name} ", string.Join('\n', lines));
    }

    [Fact]
    public async Task Should_export_the_service_series_only_on_a_registry_of_its_own()
    {
        Assert.NotSame(Metrics.DefaultRegistry, CrmMetrics.Registry);

        var lines = (await CrmMetrics.Process.ExpositionAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // No process_* nor dotnet_* series, nor any other library's instruments.
        Assert.All(lines, line => Assert.Matches(@"^(# (HELP|TYPE) )?crm_", line));
    }

    [Fact]
    public async Task Should_count_a_value_in_the_first_bucket_whose_bound_holds_it_and_ignore_nan()
    {
        var metrics = Fresh();
        metrics.Reminders.ScanDuration.Record(1); // a bound holds its own value (le: less or equal)
        metrics.Reminders.ScanDuration.Record(0.5);
        metrics.Reminders.ScanDuration.Record(601);
        metrics.Reminders.ScanDuration.Record(double.NaN);

        Assert.Equal("0", await ValueAsync(metrics, "crm_scan_duration_seconds_bucket{le=\"0.25\"}"));
        Assert.Equal("2", await ValueAsync(metrics, "crm_scan_duration_seconds_bucket{le=\"1\"}"));
        Assert.Equal("2", await ValueAsync(metrics, "crm_scan_duration_seconds_bucket{le=\"600\"}"));
        Assert.Equal("3", await ValueAsync(metrics, "crm_scan_duration_seconds_bucket{le=\"+Inf\"}"));
        Assert.Equal("602.5", await ValueAsync(metrics, "crm_scan_duration_seconds_sum"));
        Assert.Equal("3", await ValueAsync(metrics, "crm_scan_duration_seconds_count"));
        Assert.Equal("0", await ValueAsync(metrics, "crm_reminder_delay_seconds_count"));
    }

    [Fact]
    public async Task Should_move_counters_and_gauges_and_refuse_a_counter_without_its_label()
    {
        var metrics = Fresh("reminder_worker");
        metrics.Reminders.RemindersFound.Add(3);
        metrics.Reminders.NotificationsCreated.Add(2);
        metrics.Reminders.DueBacklog.Set(7);
        metrics.Service.ProgramRestarts.Add("reminder_worker", 2);

        Assert.Equal("3", await ValueAsync(metrics, "crm_reminders_found_total"));
        Assert.Equal("2", await ValueAsync(metrics, "crm_notifications_created_total"));
        Assert.Equal("0", await ValueAsync(metrics, "crm_reminders_skipped_total"));
        Assert.Equal("7", await ValueAsync(metrics, "crm_reminders_due_backlog"));
        Assert.Equal("2", await ValueAsync(metrics, "crm_program_restarts_total{program=\"reminder_worker\"}"));
        Assert.Equal(2, metrics.Service.ProgramRestarts.Read("reminder_worker"));
        Assert.Equal(0, metrics.Service.ProgramRestarts.Read("never_declared"));
        Assert.DoesNotContain(await LinesAsync(metrics), line => line.Contains("never_declared"));
        Assert.Throws<InvalidOperationException>(() => metrics.Service.ProgramRestarts.Add(1));
        Assert.Throws<InvalidOperationException>(() => metrics.Reminders.RowsSkipped.Add("reminder_worker", 1));
    }

    [Fact]
    public async Task Should_give_each_program_one_series_per_state_with_1_for_the_one_it_is_in_and_count_its_restarts()
    {
        var metrics = Fresh("a", "b");
        ProgramMetrics.Entered(metrics.Service, "b", ProgramState.Stopped, ProgramState.Starting);
        ProgramMetrics.Entered(metrics.Service, "b", ProgramState.Starting, ProgramState.Running);
        ProgramMetrics.Entered(metrics.Service, "a", ProgramState.Starting, ProgramState.Fatal);
        ProgramMetrics.Entered(metrics.Service, "a", ProgramState.Fatal, ProgramState.Starting); // started again after it ended: a restart
        ProgramMetrics.Declare(metrics.Service, ["b"]); // declared already: stays RUNNING

        var states = (await LinesAsync(metrics)).Where(line => line.StartsWith("crm_program_state{", StringComparison.Ordinal)).ToList();

        Assert.Equal(2 * Enum.GetValues<ProgramState>().Length, states.Count);
        Assert.Equal(["crm_program_state{program=\"a\",state=\"STARTING\"} 1", "crm_program_state{program=\"b\",state=\"RUNNING\"} 1"],
            states.Where(line => line.EndsWith(" 1", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
        Assert.Equal("RUNNING", metrics.Service.ProgramState.StateOf("b"));
        Assert.Equal("1", await ValueAsync(metrics, "crm_program_restarts_total{program=\"a\"}"));
        Assert.Equal("0", await ValueAsync(metrics, "crm_program_restarts_total{program=\"b\"}")); // a first start is no restart
    }
}

internal sealed record Fresh(ServiceMetrics Service, ReminderMetrics Reminders);
