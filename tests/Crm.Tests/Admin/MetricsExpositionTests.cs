using Crm.Actors.Reminders;
using System.Net;
using System.Text.RegularExpressions;
using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;
using Crm.Tests.Support;
using Prometheus;

namespace Crm.Tests.Admin;

/// <summary>
/// /metrics of a real host, read by Prometheus' own parser: every series of a fresh registry and every metric the
/// README lists, from the start.
/// </summary>
[Trait("Category", "Integration")]
public partial class MetricsExpositionTests
{
    /// <summary>The names the README's Metrics bullet lists (`crm_program_state{program,state}` counts as crm_program_state).</summary>
    internal static IReadOnlyList<string> ReadmeMetrics()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "CrmActors.sln"))) dir = dir.Parent;
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        var bullet = readme[readme.IndexOf("- Metrics:", StringComparison.Ordinal)..];
        bullet = bullet[..bullet.IndexOf("\n- ", StringComparison.Ordinal)];
        return MetricName().Matches(bullet).Select(m => m.Groups[1].Value).Distinct().ToList();
    }

    [GeneratedRegex(@"`(crm_[a-z_]+)[`{]")]
    private static partial Regex MetricName();

    /// <summary>The value of the sample written exactly as <paramref name="series"/> (name and labels), or null.</summary>
    private static double? Value(string exposition, string series) =>
        exposition.Split('\n').Where(line => line.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(line => (double?)double.Parse(line[(series.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();

    /// <summary>Each sample of <paramref name="exposition"/>: its series (name and labels) and its value as written.</summary>
    private static Dictionary<string, string> Samples(string exposition) =>
        exposition.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(line => !line.StartsWith('#'))
            .ToDictionary(line => line[..line.LastIndexOf(' ')], line => line[(line.LastIndexOf(' ') + 1)..]);

    /// <summary>What a host running <paramref name="programs"/> exports before anything happens.</summary>
    private static async Task<string> FreshExpositionAsync(params string[] programs)
    {
        var metrics = new ServiceMetrics(Metrics.NewCustomRegistry());
        ProgramMetrics.Declare(metrics, programs);
        _ = new ReminderMetrics(metrics); // the host registers reminder_worker, which brings its series
        return await metrics.ExpositionAsync();
    }

    private static async Task AssertPromtoolAcceptsAsync(string exposition)
    {
        var (exitCode, output) = await Promtool.CheckMetricsAsync(exposition);
        Assert.True(exitCode == 0 && output.Length == 0, $"promtool check metrics exited {exitCode}:\n{output}\n--- exposition ---\n{exposition}");
    }

    [Fact]
    public void Should_find_the_metrics_in_the_readme()
    {
        Assert.Contains("crm_reminders_skipped_parked", ReadmeMetrics());
        Assert.Contains("crm_program_state", ReadmeMetrics());
        Assert.True(ReadmeMetrics().Count >= 9, string.Join(", ", ReadmeMetrics()));
    }

    [Fact]
    public async Task Should_write_a_fresh_registry_in_a_form_promtool_accepts()
    {
        var exposition = await FreshExpositionAsync("reminder_worker", "second");

        await AssertPromtoolAcceptsAsync(exposition);
        foreach (var name in ReadmeMetrics())
            Assert.Contains($"# TYPE {name} ", exposition);
    }

    [Fact]
    public async Task Should_export_every_readme_metric_from_the_start_in_a_form_promtool_accepts()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (config, port) = Ports.ServiceConfig(AdminEndpointTests.Fast);
        using var host = HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

        // The first answer of the listener: whatever the program has done by then, every series is there.
        string first = "";
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                var response = await http.GetAsync("/metrics");
                first = await response.Content.ReadAsStringAsync();
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "/metrics answers", () => host.Output);

        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", (await http.GetAsync("/metrics")).Content.Headers.ContentType!.ToString());
        await AssertPromtoolAcceptsAsync(first);
        foreach (var name in ReadmeMetrics())
            Assert.Contains($"# TYPE {name} ", first);
        // Every series of a fresh registry, and none other (no process_* or dotnet_*). Nothing is due in this
        // database: each stays as it started (0), whenever the first scan runs, but the scan's own duration and time and
        // the program's state, which may have moved by then.
        var fresh = Samples(await FreshExpositionAsync("reminder_worker"));
        var exported = Samples(first);
        Assert.Equal(fresh.Keys.Order(StringComparer.Ordinal), exported.Keys.Order(StringComparer.Ordinal));
        foreach (var (series, value) in fresh.Where(s => !s.Key.StartsWith("crm_scan_duration_seconds", StringComparison.Ordinal)
                                                          && !s.Key.StartsWith("crm_scan_last_success", StringComparison.Ordinal)
                                                          && !s.Key.StartsWith("crm_program_state", StringComparison.Ordinal)))
            Assert.True(value == exported[series], $"{series} {exported[series]}, not {value} as on a fresh registry");
        Assert.NotNull(Value(first, "crm_scan_duration_seconds_bucket{le=\"0.001\"}")); // seconds, from 1 ms
        Assert.NotNull(Value(first, "crm_scan_duration_seconds_bucket{le=\"600\"}"));   // to 10 min

        // Prometheus asks for OpenMetrics first: it gets the text format all the same, with the bounds as written above.
        using (var openMetrics = new HttpRequestMessage(HttpMethod.Get, "/metrics"))
        {
            openMetrics.Headers.TryAddWithoutValidation("Accept",
                "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
            using var answer = await http.SendAsync(openMetrics);
            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", answer.Content.Headers.ContentType!.ToString());
            Assert.NotNull(Value(await answer.Content.ReadAsStringAsync(), "crm_scan_duration_seconds_bucket{le=\"600\"}"));
        }
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync("/metrics", null)).StatusCode); // read-only

        // Then moving values: three reminders written, one occurrence parked.
        await db.SeedBacklogAsync(due: 3);
        await db.ExecuteAsync("INSERT INTO crm_actors.skipped_occurrences (interaction_id, next_action_at, reason) VALUES (999999, now(), 'test')");
        string moved = "";
        await Eventually.HoldsAsync(async () =>
        {
            moved = await http.GetStringAsync("/metrics");
            // Found is counted when the scan ends, after its notifications: wait for both. A scan runs while the
            // program is still STARTING (startsecs), so RUNNING is awaited too, not assumed (seen under load in CI).
            return Value(moved, "crm_notifications_created_total") == 3 && Value(moved, "crm_reminders_found_total") == 3
                   && Value(moved, "crm_reminders_skipped_parked") == 1
                   && Value(moved, "crm_program_state{program=\"reminder_worker\",state=\"RUNNING\"}") == 1;
        }, TimeSpan.FromSeconds(60), "3 reminders found and written, 1 parked occurrence and RUNNING exported", () => moved);

        await AssertPromtoolAcceptsAsync(moved);
        Assert.Equal(3, Value(moved, "crm_reminder_delay_seconds_count"));
        Assert.Equal(3, Value(moved, "crm_reminder_delay_seconds_bucket{le=\"+Inf\"}"));
        Assert.True(Value(moved, "crm_scan_duration_seconds_count") >= 1);
        Assert.Equal(0, Value(moved, "crm_program_state{program=\"reminder_worker\",state=\"STARTING\"}"));
    }
}
