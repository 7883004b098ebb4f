using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>The admin endpoint of a real host process on PostgreSQL, over HTTP.</summary>
[Trait("Category", "Integration")]
public class AdminEndpointTests
{
    internal const string Fast = """
        crm.reminders.interval = 1s
        crm.programs.reminder_worker { startsecs = 300ms, stopwaitsecs = 2s, min-backoff = 100ms }
        """;

    internal static async Task<(HostProcess Host, HttpClient Http, string ConfigPath)> StartAsync(
        TestDatabase db, string hocon = Fast, Dictionary<string, string>? environment = null, string bindAddress = "127.0.0.1")
    {
        var port = Ports.Free();
        var config = Ports.ConfigFile($"{hocon}\ncrm.admin.bind = \"{bindAddress}:{port}\"\n");
        var env = new Dictionary<string, string>(environment ?? []) { ["DATABASE_URL"] = db.Url };
        var host = HostProcess.Start(["--config", config], env);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            await Eventually.HoldsAsync(async () =>
            {
                try { return (await http.GetAsync("/health/worker")).StatusCode == HttpStatusCode.OK; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60), "the worker is healthy", () => host.Output);
        }
        catch
        {
            host.Dispose(); // no host outlives its test
            http.Dispose();
            throw;
        }
        return (host, http, config);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Should_serve_status_events_actors_metrics_and_health_from_a_running_host()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 5);
        var (host, http, _) = await StartAsync(db);
        using var _ = host;

        var status = (await JsonAsync(await http.GetAsync("/api/programs"))).EnumerateArray().Single();
        Assert.Equal("RUNNING", status.GetProperty("state").GetString());
        Assert.Matches($@"^pid {host.Process.Id}, uptime 0:00:\d\d$", status.GetProperty("description").GetString());

        var events = (await JsonAsync(await http.GetAsync("/api/events"))).EnumerateArray().Select(e => e.GetProperty("line").GetString()).ToList();
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z reminder_worker STOPPED -> STARTING autostart$", events[0]);
        Assert.Contains(events, e => e!.Contains("reminder_worker STARTING -> RUNNING"));

        var actors = await http.GetStringAsync("/api/actors");
        Assert.Contains("/user/supervisor/reminder_worker/worker/scan-supervisor/scan\n", actors);
        Assert.Contains("/user/supervisor/reminder_worker/worker/writer-1-supervisor/writer-1\n", actors);

        await Eventually.HoldsAsync(async () => (await http.GetStringAsync("/metrics")).Contains("crm_notifications_created_total 5\n"),
            TimeSpan.FromSeconds(30), "the metrics count the 5 notifications");
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("crm_program_state{program=\"reminder_worker\",state=\"RUNNING\"} 1", metrics);
        Assert.Contains("crm_reminder_delay_seconds_count 5\n", metrics);
        Assert.Contains("crm_scan_duration_seconds_bucket", metrics);
        Assert.Contains("crm_reminders_found_total", metrics);

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/live")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/ready")).StatusCode);
        var worker = await JsonAsync(await http.GetAsync("/health/worker"));
        Assert.Equal("RUNNING", worker.GetProperty("checks").GetProperty("worker").GetProperty("data").GetProperty("state").GetString());
        Assert.Contains("STARTING -> RUNNING", await http.GetStringAsync("/api/logs/peek?lines=50"));
    }

    [Fact]
    public async Task Should_stop_start_and_restart_a_program_and_report_the_worker_unhealthy_while_stopped()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await StartAsync(db);
        using var _ = host;

        async Task<string?> Post(string path) => (await JsonAsync(await http.PostAsync(path, null))).GetProperty("line").GetString();

        Assert.Equal("reminder_worker: stopped", await Post("/api/programs/reminder_worker/stop"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/worker")).StatusCode);
        var program = await http.GetAsync("/health/programs/reminder_worker");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, program.StatusCode);
        Assert.Equal("STOPPED", (await JsonAsync(program)).GetProperty("checks").GetProperty("program:reminder_worker")
            .GetProperty("data").GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/health/programs/nope")).StatusCode);
        Assert.Equal("reminder_worker: ERROR (not running)", await Post("/api/programs/reminder_worker/stop"));
        Assert.Equal("reminder_worker: started", await Post("/api/programs/reminder_worker/start"));
        Assert.Equal("reminder_worker: ERROR (already started)", await Post("/api/programs/reminder_worker/start"));
        Assert.Equal("reminder_worker: started", await Post("/api/programs/reminder_worker/restart"));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/programs/reminder_worker")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/api/programs/nope/stop", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/programs/nope")).StatusCode);
    }

    [Fact]
    public async Task Should_require_the_bearer_token_for_commands_when_one_is_set_and_never_log_it()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await StartAsync(db, environment: new() { ["CRM_ADMIN_TOKEN"] = "s3cret-token" });
        using var _ = host;

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync("/api/scan-now", null)).StatusCode);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/api/scan-now") { Headers = { { "Authorization", "Bearer guess" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);
        using var right = new HttpRequestMessage(HttpMethod.Post, "/api/scan-now") { Headers = { { "Authorization", "Bearer s3cret-token" } } };
        Assert.True((await JsonAsync(await http.SendAsync(right))).GetProperty("data").GetProperty("completed").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/programs")).StatusCode); // reading needs no token

        Assert.DoesNotContain("s3cret-token", host.Output);
        Assert.DoesNotContain("s3cret-token", host.ReadLog("reminder_worker.log"));
        Assert.DoesNotContain("s3cret-token", await http.GetStringAsync("/metrics"));
    }

    [Fact]
    public async Task Should_refuse_everything_but_health_and_metrics_on_a_listener_beyond_loopback_without_a_token_and_say_so_at_start()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, loopback, _) = await StartAsync(db, bindAddress: "0.0.0.0");
        using var _ = host;

        var refused = await loopback.PostAsync("/api/programs/reminder_worker/stop", null);
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("CRM_ADMIN_TOKEN", await refused.Content.ReadAsStringAsync());
        Assert.Contains("beyond loopback, and CRM_ADMIN_TOKEN is not set", host.ReadLog("reminder_worker_error.log"));
        // The listener decides, not the client's address: 127.0.0.1 on a 0.0.0.0 listener is refused too.
        var read = await loopback.GetAsync("/api/programs");
        Assert.Equal(HttpStatusCode.Forbidden, read.StatusCode);
        Assert.DoesNotContain("reminder_worker", await read.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await loopback.GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await loopback.GetAsync("/health/ready")).StatusCode);
    }

    [Fact]
    public async Task Should_roll_the_logs_at_the_configured_size_keeping_the_configured_backups()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await StartAsync(db, $"{Fast}\ncrm.logging {{ max-bytes = 2KiB, backups = 2 }}");
        using var _ = host;
        var logs = Path.Combine(host.WorkingDirectory, "logs");
        string[] Files() => Directory.GetFiles(logs, "reminder_worker*.log").Where(f => !f.Contains("_error")).ToArray();

        // Each stop and start writes a few INFO lines (the transitions): enough for several rolls of 2 KiB.
        for (var cycle = 0; cycle < 15; cycle++)
        {
            await http.PostAsync("/api/programs/reminder_worker/stop", null);
            await http.PostAsync("/api/programs/reminder_worker/start", null);
        }

        Assert.Equal(3, Files().Length); // the current file and exactly 2 backups
        Assert.DoesNotContain(Path.Combine(logs, "reminder_worker.log"), Files()); // the first file was deleted
        Assert.All(Files(), f => Assert.InRange(new FileInfo(f).Length, 0, 2 * 1024 + 512));
        // The last transition may sit in the current file or, just rolled, in the newest backup.
        string Read(string f) { using var r = new StreamReader(new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete)); return r.ReadToEnd(); }
        await Eventually.HoldsAsync(() =>
        {
            try { return Task.FromResult(string.Concat(Files().Select(Read)).Contains("STOPPED -> STARTING: started by operator")); }
            catch (FileNotFoundException) { return Task.FromResult(false); } // rolled away while read
        }, TimeSpan.FromSeconds(30), "the last transition is in the kept log files");
        var tail = await http.GetAsync("/api/logs/reminder_worker?tail=4000");
        Assert.Equal(System.Net.HttpStatusCode.OK, tail.StatusCode);
    }
}
