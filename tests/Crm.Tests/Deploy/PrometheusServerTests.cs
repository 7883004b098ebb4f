using System.Text.Json;
using Crm.Tests.Admin;
using Crm.Tests.Support;
using Xunit.Abstractions;

namespace Crm.Tests.Deploy;

/// <summary>
/// Debian's prometheus server scraping a real host, with deploy/prometheus' rules loaded: every rule evaluates
/// without error and reads series that exist, every query of the Grafana dashboard parses and returns data, and an
/// alert fires end to end (a row the database refuses is parked).
/// </summary>
[Trait("Category", "Integration")]
public class PrometheusServerTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Scrape = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Should_evaluate_every_rule_and_every_dashboard_query_against_a_real_host()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db);
        using var hostHandle = host;
        using var httpHandle = http;
        await using var prometheus = await PrometheusProcess.StartAsync($$"""
            global:
              scrape_interval: {{Scrape.TotalSeconds}}s
              evaluation_interval: {{Scrape.TotalSeconds}}s
            rule_files:
              - {{DeployFiles.RulesFile}}
            scrape_configs:
              - job_name: crm-actors
                static_configs:
                  - targets: ["127.0.0.1:{{http.BaseAddress!.Port}}"]
            """);
        string Context() => $"--- prometheus ---\n{prometheus.Output}\n--- host ---\n{host.Output}";

        // The host scraped once with nothing written yet, so that rate() and increase() see what follows.
        await Eventually.HoldsAsync(async () => (await prometheus.QueryAsync("crm_notifications_created_total == 0")).Count == 1,
            TimeSpan.FromSeconds(60), "a first scrape of the host", Context);

        // Then three reminders coming due in 2 s, written on time, and a fourth the database refuses: parked.
        await db.ExecuteAsync($"""
            {CrmRows.Users(1)}
            {CrmRows.Organisation}
            ALTER TABLE notifications ADD CONSTRAINT no_poison CHECK (title <> 'Rappel: POISON');
            INSERT INTO crm_interactions ({CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
                SELECT {CrmRows.InteractionValues()}, CASE WHEN g = 4 THEN 'POISON' ELSE 'On time ' || g END, 'todo', 1,
                       now() + interval '2 seconds'
                FROM generate_series(1, 4) g;
            """);

        // Every rule evaluated since, and the alert on parked rows firing.
        IReadOnlyList<JsonElement> rules = [];
        var waitingFor = "";
        await Eventually.HoldsAsync(async () =>
        {
            rules = (await prometheus.ApiAsync("rules")).GetProperty("groups").EnumerateArray()
                .SelectMany(g => g.GetProperty("rules").EnumerateArray()).ToList();
            var missing = new List<string>();
            if ((await prometheus.QueryAsync("crm_notifications_created_total == 3")).Count != 1) missing.Add("3 notifications scraped");
            foreach (var rule in rules.Where(r => r.GetProperty("type").GetString() == "recording"))
                if ((await prometheus.QueryAsync(rule.GetProperty("name").GetString()!)).Count == 0) missing.Add(rule.GetProperty("name").GetString()!);
            if (AlertState(rules, "CrmRemindersParked") != "firing") missing.Add("CrmRemindersParked firing");
            waitingFor = string.Join(", ", missing);
            return missing.Count == 0;
        }, TimeSpan.FromSeconds(90), "the rules evaluated on the scraped series", () => $"waiting for: {waitingFor}\n{Context()}");

        Assert.Equal(DeployFiles.Alerts().Count + DeployFiles.RecordedNames().Count, rules.Count);
        foreach (var rule in rules)
        {
            var name = rule.GetProperty("name").GetString()!;
            var query = rule.GetProperty("query").GetString()!;
            var lastError = rule.TryGetProperty("lastError", out var error) ? error.GetString() : null;
            Assert.True(rule.GetProperty("health").GetString() == "ok" && string.IsNullOrEmpty(lastError), $"{name}: {rule.GetProperty("health")} {lastError}");
            // The expression itself, through the query API: it parses and runs. A recording rule's returns data; an
            // alert's holds only while it fires, so each series it reads must be there instead.
            var result = await prometheus.QueryAsync(query);
            if (rule.GetProperty("type").GetString() == "recording")
                Assert.True(result.Count > 0, $"{name} = {query}: no data");
            else
                foreach (var series in DeployFiles.SeriesRead(query))
                    Assert.True((await prometheus.QueryAsync(series)).Count > 0, $"{name} reads {series}, which has no data");
            output.WriteLine($"{name}: {rule.GetProperty("type").GetString()} {(rule.TryGetProperty("state", out var state) ? state.GetString() : "")} {result.Count} sample(s)");
        }

        // On this healthy host only the parked row alerts; the delay's may be pending on a loaded machine (reminders
        // are on time within tens of milliseconds here, but p99 of three is their max).
        foreach (var (alert, _) in DeployFiles.Alerts())
        {
            var expected = alert switch { "CrmRemindersParked" => ["firing"], "CrmRemindersLate" => new[] { "inactive", "pending" }, _ => ["inactive"] };
            Assert.Contains(AlertState(rules, alert), expected);
        }
        var parked = (await prometheus.ApiAsync("alerts")).GetProperty("alerts").EnumerateArray()
            .Single(a => a.GetProperty("labels").GetProperty("alertname").GetString() == "CrmRemindersParked");
        Assert.Equal("crm-actors", parked.GetProperty("labels").GetProperty("job").GetString());
        Assert.Equal("Reminders parked in the last hour: 1 (the database refused their rows)", parked.GetProperty("annotations").GetProperty("summary").GetString());
        Assert.Single(await db.RowsAsync("SELECT 1 FROM crm_actors.skipped_occurrences"));

        // The dashboard's queries as Grafana sends them ("All" selected, $__rate_interval for a 1 s scrape).
        var queries = DeployFiles.DashboardQueries();
        Assert.NotEmpty(queries);
        foreach (var (panel, expr) in queries)
        {
            var sent = DeployFiles.AsGrafanaSends(expr, Scrape);
            Assert.DoesNotContain("$", sent);
            var result = await prometheus.QueryAsync(sent);
            Assert.True(result.Count > 0, $"panel \"{panel}\": {sent}: no data");
            output.WriteLine($"{panel}: {sent} -> {result.Count} sample(s)");
        }
        // Its variables, label_values(SELECTOR, LABEL), as Grafana asks for them: the label's values over the selector.
        foreach (var (name, query) in DeployFiles.DashboardVariables())
        {
            var open = query.IndexOf('(', StringComparison.Ordinal);
            var comma = query.LastIndexOf(',');
            Assert.StartsWith("label_values(", query);
            var selector = DeployFiles.AsGrafanaSends(query[(open + 1)..comma].Trim(), Scrape);
            var label = query[(comma + 1)..].TrimEnd(')').Trim();
            var values = (await prometheus.ApiAsync($"label/{label}/values?match[]={Uri.EscapeDataString(selector)}")).EnumerateArray()
                .Select(v => v.GetString()).ToList();
            Assert.Equal(name == "job" ? "crm-actors" : $"127.0.0.1:{http.BaseAddress!.Port}", Assert.Single(values));
        }
        await db.AssertExactlyOnceAsync(3);
        var p99 = (await prometheus.QueryAsync("crm:reminder_delay_seconds:p99_10m"))[0].GetProperty("value")[1].GetString();
        output.WriteLine($"crm:reminder_delay_seconds:p99_10m = {p99} s");
    }

    private static string? AlertState(IEnumerable<JsonElement> rules, string alert) =>
        rules.Where(r => r.GetProperty("type").GetString() == "alerting" && r.GetProperty("name").GetString() == alert)
            .Select(r => r.GetProperty("state").GetString()).SingleOrDefault();
}
