using System.Globalization;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Telemetry;

/// <summary>
/// crm_reminder_delay_seconds is the service's own delay (SPEC §5): from the later of next_action_at and the moment
/// the row became due (its insert or move, updated_at as the CRM's models keep it), not the age of a date that was
/// already past when the row came. The dashboard's lateness chart counts the same values.
/// </summary>
[Trait("Category", "Integration")]
public class ReminderDelayTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Should_measure_a_row_created_due_or_moved_into_the_past_from_its_change_not_from_its_date()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync(CrmRows.Users(1) + CrmRows.Organisation);
        // Created two days ago (as the CRM's models stamp it): one to move into the past, one coming due in seconds.
        await db.ExecuteAsync($"""
            INSERT INTO crm_interactions (id, {CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at, created_at, updated_at) VALUES
              (2, {CrmRows.InteractionValues()}, 'Moved into the past', 'todo', 1, now() + interval '1 hour', now() - interval '2 days', now() - interval '2 days'),
              (3, {CrmRows.InteractionValues()}, 'Coming due', 'todo', 1, now() + interval '1 day', now() - interval '2 days', now() - interval '2 days');
            """);
        var (config, port) = Ports.ServiceConfig();
        using var host = HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await http.GetStringAsync("/api/logs/peek?lines=200")).Contains("the database announces every change"); }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "the host listens for changes", () => host.Output);

        // What the CRM does: a new interaction a day overdue, a date moved an hour into the past, and a date set
        // 3 s ahead by a statement that keeps updated_at two days old (the later of the two counts: next_action_at).
        await db.ExecuteAsync($"""
            INSERT INTO crm_interactions (id, {CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
                VALUES (1, {CrmRows.InteractionValues()}, 'Created a day overdue', 'todo', 1, now() - interval '1 day');
            UPDATE crm_interactions SET next_action_at = now() - interval '1 hour', updated_at = now() WHERE id = 2;
            UPDATE crm_interactions SET next_action_at = now() + interval '3 seconds' WHERE id = 3;
            """);

        var metrics = "";
        await Eventually.HoldsAsync(async () =>
        {
            metrics = await http.GetStringAsync("/metrics");
            return Value(metrics, "crm_reminder_delay_seconds_count") == 3;
        }, TimeSpan.FromSeconds(60), "three delays recorded", () => metrics + host.Output);
        await db.AssertExactlyOnceAsync(3);
        output.WriteLine(string.Join('\n', metrics.Split('\n').Where(l => l.StartsWith("crm_reminder_delay_seconds", StringComparison.Ordinal))));

        // Counted from next_action_at, two would be an hour and a day; the service took seconds for each.
        Assert.Equal(3, Value(metrics, "crm_reminder_delay_seconds_bucket{le=\"60\"}"));
        Assert.InRange(Value(metrics, "crm_reminder_delay_seconds_sum")!.Value, 0, 3 * 60);
        var window = JsonDocument.Parse(await http.GetStringAsync("/api/lateness?minutes=5")).RootElement.GetProperty("window");
        Assert.Equal(3, window.GetProperty("count").GetInt64());
        Assert.InRange(window.GetProperty("max").GetDouble(), 0, 60);
    }

    private static double? Value(string exposition, string series) =>
        exposition.Split('\n').Where(l => l.StartsWith(series + " ", StringComparison.Ordinal))
            .Select(l => (double?)double.Parse(l[(series.Length + 1)..], CultureInfo.InvariantCulture)).FirstOrDefault();
}
