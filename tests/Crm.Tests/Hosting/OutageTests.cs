using System.Diagnostics;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Hosting;

/// <summary>A database outage as the real host lives it (SPEC §3): it resumes by itself, never FATAL, one line.</summary>
[Trait("Category", "Integration")]
public class OutageTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Should_resume_by_itself_within_30_s_of_the_database_return_after_an_outage_that_used_to_end_in_FATAL()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        using var proxy = new OutageProxy(db.Connection.Port);
        // Short budgets, so that the old rules would have given up well within the outage: one in-program
        // restart, then three failed starts 0.1, 0.2, 0.4 s apart, then FATAL. Default outage-backoff (10 s).
        var (config, port) = Ports.ServiceConfig("""
            crm.reminders { interval = 2s, transient-retries = 1 }
            crm.programs.reminder_worker { startsecs = 1s, min-backoff = 100ms, max-backoff = 400ms }
            """);
        using var host = HostProcess.Start(["--config", config],
            new Dictionary<string, string> { ["DATABASE_URL"] = $"postgresql://{db.Connection.Username}@127.0.0.1:{proxy.Port}/{db.Name}" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.HoldsAsync(async () => (await StateAsync(http)) == "RUNNING", TimeSpan.FromSeconds(60), "RUNNING", () => host.Output);

        proxy.Down();
        await db.SeedBacklogAsync(due: 40); // due while the database is away
        await Eventually.HoldsAsync(async () => (await EventsAsync(http)).Any(e => e.Contains("database unreachable")),
            TimeSpan.FromSeconds(60), "the outage is seen", () => host.Output);
        await Task.Delay(TimeSpan.FromSeconds(15)); // a long outage, many retries: the old rules were FATAL within 3 s of the first
        Assert.NotEqual("FATAL", await StateAsync(http));

        proxy.Up();
        var back = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") == 40,
            TimeSpan.FromSeconds(30), "every reminder due during the outage is written within 30 s of the return", () => host.Output);
        back.Stop();

        await db.AssertExactlyOnceAsync(40);
        var events = await EventsAsync(http);
        Assert.DoesNotContain(events, e => e.Contains("-> FATAL"));
        // One clear line for the outage, no stack trace for an expected failure.
        Assert.False(host.Output.Contains("   at "), host.Output);
        Assert.False(host.Output.Contains(" - ERROR - "), host.Output);
        output.WriteLine($"outage: written {back.Elapsed.TotalSeconds:0.0} s after the database's return");
    }

    private static async Task<string?> StateAsync(HttpClient http)
    {
        try
        {
            using var json = JsonDocument.Parse(await http.GetStringAsync("/api/programs"));
            return json.RootElement.EnumerateArray().Single().GetProperty("state").GetString();
        }
        catch (HttpRequestException) { return null; }
    }

    private static async Task<List<string>> EventsAsync(HttpClient http)
    {
        using var json = JsonDocument.Parse(await http.GetStringAsync("/api/events"));
        return json.RootElement.EnumerateArray().Select(e => e.GetProperty("line").GetString()!).ToList();
    }
}
