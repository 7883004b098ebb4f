using System.Text.Json;
using System.Text.RegularExpressions;
using Crm.Actors.Reminders;
using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;
using Prometheus;

namespace Crm.Tests.Deploy;

/// <summary>
/// deploy/prometheus and deploy/grafana as files: every alert complete and unit-tested both ways, every series they
/// read one the service exports (or a rule records), the dashboard well-formed.
/// </summary>
public partial class DeployFilesTests
{
    [Fact]
    public void Should_find_the_alerts_and_their_test_cases()
    {
        Assert.Contains("CrmProgramFatal", DeployFiles.Alerts().Select(a => a.Name));
        Assert.Contains("crm:reminder_delay_seconds:p99_10m", DeployFiles.RecordedNames());
        Assert.Contains(("CrmProgramFatal", true), DeployFiles.AlertCases());
        Assert.Contains(("CrmRemindersLate", false), DeployFiles.AlertCases());
        Assert.Contains(DeployFiles.RuleExpressions(), e => e.Contains("\nunless on (job, instance, program)", StringComparison.Ordinal)); // a block scalar, whole
        Assert.True(DeployFiles.Alerts().Count >= 7, string.Join(", ", DeployFiles.Alerts().Select(a => a.Name)));
    }

    [Fact]
    public void Should_test_every_alert_firing_and_not_firing()
    {
        var cases = DeployFiles.AlertCases();
        foreach (var (alert, _) in DeployFiles.Alerts())
        {
            Assert.True(cases.Contains((alert, true)), $"{alert}: no promtool case where it fires");
            Assert.True(cases.Contains((alert, false)), $"{alert}: no promtool case where it does not fire");
        }
        Assert.All(cases, c => Assert.Contains(c.Alert, DeployFiles.Alerts().Select(a => a.Name)));
    }

    [Fact]
    public void Should_give_every_alert_a_for_a_severity_a_summary_a_description_and_a_one_line_runbook()
    {
        foreach (var (alert, text) in DeployFiles.Alerts())
        {
            Assert.Matches(@"\n +for: \d+[smh]\n", text);
            Assert.Matches(@"\n +severity: (critical|warning)\n", text);
            Assert.Matches(@"\n +summary: "".+""\n", text);
            Assert.Matches(@"\n +description: "".+""\n", text);
            Assert.Matches(@"\n +runbook: "".{20,}""\n", text);
        }
    }

    [Fact]
    public async Task Should_read_only_series_the_service_exports_or_the_rules_record()
    {
        // What a host exports before anything happens: every series, each at its start (MetricsExpositionTests).
        var metrics = new ServiceMetrics(Metrics.NewCustomRegistry());
        ProgramMetrics.Declare(metrics, ["reminder_worker"]);
        _ = new ReminderMetrics(metrics);
        var known = TypeLine().Matches(await metrics.ExpositionAsync()).Select(m => m.Groups[1].Value).ToHashSet();
        Assert.Contains("crm_scan_last_success_timestamp_seconds", known);
        known.UnionWith(DeployFiles.RecordedNames());
        known.UnionWith(["up", "ALERTS"]);

        Assert.Equal(DeployFiles.Alerts().Count + DeployFiles.RecordedNames().Count, DeployFiles.RuleExpressions().Count);
        var read = DeployFiles.RuleExpressions().Concat(DeployFiles.DashboardQueries().Select(q => q.Expr))
            .SelectMany(DeployFiles.SeriesRead).Distinct().ToList();

        Assert.Contains("crm_reminder_delay_seconds_bucket", read);
        Assert.Contains("crm_scan_last_success_timestamp_seconds", read);
        foreach (var name in read)
            Assert.True(known.Contains(Regex.Replace(name, "_(bucket|count|sum)$", "")), $"{name} is neither a series the host exports nor a recorded one");
    }

    [GeneratedRegex(@"^# TYPE (\S+) ", RegexOptions.Multiline)]
    private static partial Regex TypeLine();

    [Fact]
    public void Should_give_the_dashboard_unique_panels_each_on_the_chosen_prometheus()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DeployFiles.DashboardFile));
        var root = dashboard.RootElement;
        Assert.Equal("crm-actors", root.GetProperty("uid").GetString());
        var panels = root.GetProperty("panels").EnumerateArray().ToList();
        Assert.Equal(panels.Count, panels.Select(p => p.GetProperty("id").GetInt32()).Distinct().Count());
        foreach (var panel in panels.Where(p => p.GetProperty("type").GetString() != "row"))
        {
            var targets = panel.GetProperty("targets").EnumerateArray().ToList();
            Assert.NotEmpty(targets);
            Assert.Equal(targets.Count, targets.Select(t => t.GetProperty("refId").GetString()).Distinct().Count());
            Assert.All(targets, t => Assert.Equal("${datasource}", t.GetProperty("datasource").GetProperty("uid").GetString()));
        }
        Assert.Equal(["job", "instance"], DeployFiles.DashboardVariables().Select(v => v.Name));
        Assert.Equal("prometheus", root.GetProperty("templating").GetProperty("list")[0].GetProperty("query").GetString());
    }
}

/// <summary>The rules through Prometheus' own tool: well-formed, and every alert's unit tests passing.</summary>
[Trait("Category", "Integration")]
public class PrometheusRulesTests
{
    [Fact]
    public async Task Should_accept_the_rules_and_the_scrape_configuration_with_promtool()
    {
        var (rulesExit, rules) = await DeployFiles.PromtoolAsync(DeployFiles.PrometheusDir, "check", "rules", "crm-actors.rules.yml");
        Assert.True(rulesExit == 0, rules);
        Assert.Contains($"SUCCESS: {DeployFiles.Alerts().Count + DeployFiles.RecordedNames().Count} rules found", rules);

        var (configExit, config) = await DeployFiles.PromtoolAsync(DeployFiles.PrometheusDir, "check", "config", "prometheus.yml");
        Assert.True(configExit == 0, config);
    }

    [Fact]
    public async Task Should_pass_the_promtool_unit_tests_of_every_alert()
    {
        var (exit, output) = await DeployFiles.PromtoolAsync(DeployFiles.PrometheusDir, "test", "rules", Path.Combine("tests", "crm-actors.test.yml"));

        Assert.True(exit == 0, output);
        Assert.EndsWith("SUCCESS", output);
    }
}
