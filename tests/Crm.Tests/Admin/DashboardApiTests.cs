using System.Net;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>What the dashboard reads (docs/admin-api.md): the scans with the backlog, the lateness, the cluster.</summary>
[Trait("Category", "Integration")]
public class DashboardApiTests
{
    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Should_serve_the_last_scans_the_backlog_and_the_lateness_of_what_a_real_host_wrote()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 5);
        // Created before their date (two hours ago, as the CRM's models stamp it): late by an hour when the host comes.
        await db.ExecuteAsync("UPDATE crm_interactions SET created_at = now() - interval '2 hours', updated_at = now() - interval '2 hours'");
        var (host, http, _) = await AdminEndpointTests.StartAsync(db);
        using var _ = host;

        JsonElement report = default;
        await Eventually.HoldsAsync(async () =>
        {
            report = await JsonAsync(await http.GetAsync("/api/scans"));
            return report.GetProperty("scans").EnumerateArray().Any(s => s.GetProperty("written").GetInt32() == 5);
        }, TimeSpan.FromSeconds(60), "a scan that wrote the 5 reminders is listed", () => host.Output);
        var scans = report.GetProperty("scans").EnumerateArray().ToList();
        var writer = scans.Single(s => s.GetProperty("written").GetInt32() == 5);
        Assert.True(writer.GetProperty("completed").GetBoolean());
        Assert.Equal((5, 0, 0, 1), (writer.GetProperty("found").GetInt32(), writer.GetProperty("skipped").GetInt32(),
            writer.GetProperty("notDue").GetInt32(), writer.GetProperty("batches").GetInt32()));
        Assert.True(writer.GetProperty("durationMs").GetInt64() >= 0);
        Assert.Equal(JsonValueKind.Null, writer.GetProperty("error").ValueKind);
        var times = scans.Select(s => s.GetProperty("at").GetDateTimeOffset()).ToList();
        Assert.Equal(times.OrderDescending(), times); // newest first
        Assert.Equal(0, report.GetProperty("backlog").GetInt64());
        Assert.Equal(0, report.GetProperty("parked").GetInt64());
        Assert.Single((await JsonAsync(await http.GetAsync("/api/scans?last=1"))).GetProperty("scans").EnumerateArray());

        var lateness = await JsonAsync(await http.GetAsync("/api/lateness?minutes=5"));
        var minutes = lateness.GetProperty("minutes").EnumerateArray().ToList();
        Assert.Equal(5, minutes.Count);
        Assert.Equal(5, minutes.Sum(m => m.GetProperty("count").GetInt64()));
        var window = lateness.GetProperty("window");
        Assert.Equal(5, window.GetProperty("count").GetInt64());
        // Seeded an hour and up to 4 s before now: every delay is in the bucket (1 h, 6 h].
        var bounds = lateness.GetProperty("bounds").EnumerateArray().Select(b => b.GetDouble()).ToList();
        var buckets = window.GetProperty("buckets").EnumerateArray().Select(b => b.GetInt64()).ToList();
        Assert.Equal(bounds.Count + 1, buckets.Count);
        Assert.Equal(5, buckets[bounds.IndexOf(21600)]);
        Assert.InRange(window.GetProperty("max").GetDouble(), 3600, 3700);
        Assert.InRange(window.GetProperty("p95").GetDouble(), 3600, window.GetProperty("max").GetDouble());
        Assert.Equal(180, (await JsonAsync(await http.GetAsync("/api/lateness"))).GetProperty("minutes").GetArrayLength());
        // The same notifications as crm_reminder_delay_seconds counts.
        Assert.Contains("crm_reminder_delay_seconds_count 5\n", await http.GetStringAsync("/metrics"));

        var cluster = await JsonAsync(await http.GetAsync("/api/cluster"));
        Assert.False(cluster.GetProperty("clustered").GetBoolean());
        Assert.Empty(cluster.GetProperty("members").EnumerateArray());
    }

    [Fact]
    public async Task Should_answer_400_naming_a_bad_query_value()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db);
        using var _ = host;
        foreach (var (path, error) in new[]
        {
            ("/api/scans?last=201", "last=201: expected a whole number from 0 to 200"),
            ("/api/scans?last=-1", "last=-1: expected a whole number from 0 to 200"),
            ("/api/lateness?minutes=361", "minutes=361: expected a whole number from 0 to 360"),
            ("/api/lateness?minutes=1&minutes=2", "minutes: given 2 times, expected once"),
        })
        {
            var response = await http.GetAsync(path);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(error, (await JsonAsync(response)).GetProperty("error").GetString());
        }
    }
}
