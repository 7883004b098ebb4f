using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Hosting;

/// <summary>SPEC §8, standalone: two real service hosts on one database, each with its own identity.</summary>
[Trait("Category", "Integration")]
public class StandaloneInstancesTests
{
    private static async Task<string?> StateAsync(int port)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var json = JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{port}/api/programs/reminder_worker"));
            return json.RootElement.GetProperty("state").GetString();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { return null; }
    }

    private static Task StateIsAsync(int port, string state, HostProcess host) =>
        Eventually.HoldsAsync(async () => await StateAsync(port) == state, TimeSpan.FromSeconds(90), $"{state} on port {port}", () => host.Output);

    [Fact]
    public async Task Should_keep_each_instance_s_intent_and_events_its_own_and_write_each_reminder_once()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 4_000);
        var (configA, portA) = Ports.ServiceConfig("crm.programs.reminder_worker.startsecs = 1s\ncrm.reminders.batch-size = 100");
        var (configB, portB) = Ports.ServiceConfig("crm.programs.reminder_worker.startsecs = 1s\ncrm.reminders.batch-size = 100");
        HostProcess Start(string config, string node) =>
            HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url, ["CRM_NODE_NAME"] = node });

        var a = Start(configA, "host-a");
        var b = Start(configB, "host-b");
        try
        {
            await StateIsAsync(portA, "RUNNING", a);
            await StateIsAsync(portB, "RUNNING", b);
            Assert.Equal("reminder_worker: stopped", (await HostProcess.CtlAsync(portA, "stop", "reminder_worker")).Stdout.Trim());
            await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") == 4_000,
                TimeSpan.FromSeconds(120), "the backlog is written (by host-b if host-a stopped first)");

            // Both hosts restart: host-a remembers its operator's stop, host-b its own state.
            foreach (var old in new[] { a, b })
            {
                old.Process.Kill(entireProcessTree: true);
                await old.Process.WaitForExitAsync();
                old.Dispose();
            }
            a = Start(configA, "host-a");
            b = Start(configB, "host-b");
            await StateIsAsync(portB, "RUNNING", b);
            await Eventually.HoldsAsync(async () => (await HostProcess.CtlAsync(portA, "events")).Stdout.Contains("stopped by operator"),
                TimeSpan.FromSeconds(60), "host-a has replayed its journal", () => a.Output);
            Assert.Equal("STOPPED", await StateAsync(portA));

            var eventsA = (await HostProcess.CtlAsync(portA, "events")).Stdout;
            var eventsB = (await HostProcess.CtlAsync(portB, "events")).Stdout;
            Assert.Contains("RUNNING -> STOPPING", eventsA);
            Assert.DoesNotContain("STOPPING", eventsB); // host-a's stop is not host-b's history
            Assert.Equal(2, await db.ScalarAsync<long>("SELECT count(DISTINCT persistence_id) FROM crm_actors.journal"));
            await db.AssertExactlyOnceAsync(4_000);
        }
        finally
        {
            a.Dispose();
            b.Dispose();
        }
    }
}
