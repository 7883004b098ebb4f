using Crm.Tests.Support;
using static Crm.Tests.Support.HostProcess;

namespace Crm.Tests.Admin;

/// <summary>The real crmctl binary driving a real host process on PostgreSQL (the seed's runbook, with crmctl).</summary>
[Trait("Category", "Integration")]
public class CrmctlEndToEndTests
{
    private const string Fast = """
        crm.reminders.interval = 1s
        crm.programs.reminder_worker { startsecs = 300ms, stopwaitsecs = 2s, min-backoff = 100ms }
        """;

    private static async Task<(HostProcess Host, int Port, string Config)> StartAsync(TestDatabase db, Dictionary<string, string>? environment = null)
    {
        var (host, http, config) = await AdminEndpointTests.StartAsync(db, Fast, environment);
        var port = http.BaseAddress!.Port;
        http.Dispose();
        return (host, port, config);
    }

    [Fact]
    public async Task Should_print_status_lines_and_exit_codes_as_supervisorctl_does()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, port, _) = await StartAsync(db);
        using var _ = host;

        var running = await CtlAsync(port, "status");
        Assert.Equal(0, running.ExitCode);
        Assert.Matches($@"^reminder_worker {{18}}RUNNING   pid {host.Process.Id}, uptime 0:00:\d\d\n$", running.Stdout);

        Assert.Equal((0, "reminder_worker: stopped\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        var stopped = await CtlAsync(port, "status", "reminder_worker");
        Assert.Equal(3, stopped.ExitCode);
        Assert.Matches(@"^reminder_worker {18}STOPPED   \w{3} \d\d \d\d:\d\d [AP]M\n$", stopped.Stdout);

        var unknown = await CtlAsync(port, "status", "nope");
        Assert.Equal(4, unknown.ExitCode);
        Assert.Contains("nope: ERROR (no such process)", unknown.Stdout + unknown.Stderr);

        var unreachable = await CtlAsync(Ports.Free(), "status");
        Assert.Equal(4, unreachable.ExitCode);
    }

    [Fact]
    public async Task Should_stop_start_and_restart_as_the_runbook_does()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, port, _) = await StartAsync(db);
        using var _ = host;

        Assert.Equal((0, "reminder_worker: stopped\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        Assert.Equal((0, "reminder_worker: ERROR (not running)\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        Assert.Equal((0, "reminder_worker: started\n"), Tuple(await CtlAsync(port, "start", "reminder_worker")));
        Assert.Equal((0, "reminder_worker: ERROR (already started)\n"), Tuple(await CtlAsync(port, "start", "reminder_worker")));
        Assert.Equal((0, "reminder_worker: stopped\nreminder_worker: started\n"), Tuple(await CtlAsync(port, "restart", "reminder_worker")));
        Assert.Equal((1, "nope: ERROR (no such process)\n"), Tuple(await CtlAsync(port, "start", "nope")));

        var events = (await CtlAsync(port, "events", "reminder_worker")).Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z reminder_worker RUNNING -> STOPPING stopped by operator$", events[2]);
        var health = await CtlAsync(port, "health");
        Assert.True(health.ExitCode == 0, health.Stdout + health.Stderr);
        Assert.Contains("/user/supervisor/reminder_worker/worker/scan-supervisor/scan\n", (await CtlAsync(port, "actor", "hierarchy")).Stdout);
        Assert.Contains("STARTING -> RUNNING", (await CtlAsync(port, "log", "peek")).Stdout);
        Assert.Contains("STARTING -> RUNNING", (await CtlAsync(port, "tail", "reminder_worker")).Stdout);
        Assert.Equal(host.Process.Id.ToString(), (await CtlAsync(port, "pid")).Stdout.Trim());
        var scan = await CtlAsync(port, "scan-now");
        Assert.Equal(0, scan.ExitCode);
        Assert.StartsWith("scan: 0 found", scan.Stdout);
    }

    /// <summary>
    /// A host whose program can never start (its database is not migrated: a failed start, not an outage), left in
    /// <paramref name="state"/>. The backoff is long, so that BACKOFF lasts while crmctl runs.
    /// </summary>
    private static async Task<(HostProcess Host, int Port)> StartFailingAsync(TestDatabase db, int startRetries, string state)
    {
        var (config, port) = Ports.ServiceConfig($$"""
            crm.reminders.interval = 1s
            crm.programs.reminder_worker { startsecs = 300ms, startretries = {{startRetries}}, min-backoff = 10m, max-backoff = 10m }
            """);
        var host = HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });
        try
        {
            await Eventually.HoldsAsync(async () => (await CtlAsync(port, "status", "reminder_worker")).Stdout.Contains($" {state} "),
                TimeSpan.FromSeconds(60), state, () => host.Output);
        }
        catch
        {
            host.Dispose();
            throw;
        }
        return (host, port);
    }

    [Fact]
    public async Task Should_answer_start_stop_and_restart_of_a_program_that_cannot_start_as_supervisorctl_4_2_5_does()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        var (host, port) = await StartFailingAsync(db, startRetries: 1, "BACKOFF");
        using var _ = host;

        Assert.Equal((0, "reminder_worker: ERROR (already started)\n"), Tuple(await CtlAsync(port, "start", "reminder_worker")));
        var restart = await CtlAsync(port, "restart", "reminder_worker");
        Assert.Equal((7, "reminder_worker: stopped\nreminder_worker: ERROR (spawn error)\n"), Tuple(restart));
        Assert.Contains("not migrated", restart.Stderr); // the reason, on a line of its own
        Assert.Equal((0, "reminder_worker: stopped\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        Assert.Equal((0, "reminder_worker: ERROR (not running)\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        Assert.Equal((7, "reminder_worker: ERROR (spawn error)\n"), Tuple(await CtlAsync(port, "start", "reminder_worker")));
        Assert.Equal((1, "nosuch: ERROR (no such process)\n"), Tuple(await CtlAsync(port, "stop", "nosuch")));
        Assert.Equal((1, "nosuch: ERROR (no such process)\n"), Tuple(await CtlAsync(port, "start", "nosuch")));
    }

    [Fact]
    public async Task Should_leave_a_FATAL_program_FATAL_on_stop_and_say_it_is_not_running()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        var (host, port) = await StartFailingAsync(db, startRetries: 0, "FATAL");
        using var _ = host;

        Assert.Equal((0, "reminder_worker: ERROR (not running)\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));
        var status = await CtlAsync(port, "status", "reminder_worker");
        Assert.Equal(3, status.ExitCode);
        Assert.Contains(" FATAL ", status.Stdout);
        Assert.Equal((7, "reminder_worker: ERROR (not running)\nreminder_worker: ERROR (spawn error)\n"),
            Tuple(await CtlAsync(port, "restart", "reminder_worker")));
    }

    [Fact]
    public async Task Should_reread_and_update_only_the_program_whose_settings_changed()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, port, config) = await StartAsync(db);
        using var _ = host;

        Assert.Equal((0, "No config updates to processes\n"), Tuple(await CtlAsync(port, "reread")));
        await File.AppendAllTextAsync(config, "\ncrm.programs.reminder_worker.startsecs = 200ms\n");
        Assert.Equal((0, "reminder_worker: changed\n"), Tuple(await CtlAsync(port, "reread")));

        var update = await CtlAsync(port, "update");
        Assert.Equal(0, update.ExitCode);
        Assert.Equal("reminder_worker: stopped\nreminder_worker: updated process group\n", update.Stdout);
        Assert.Contains("started: alive for 0.2s", (await CtlAsync(port, "events")).Stdout);
        Assert.Equal((0, "No config updates to processes\n"), Tuple(await CtlAsync(port, "reread")));
        Assert.Equal(0, (await CtlAsync(port, "status")).ExitCode);
    }

    [Fact]
    public async Task Should_update_a_stopped_program_without_starting_it_apply_the_log_level_and_say_what_needs_a_restart()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, port, config) = await StartAsync(db);
        using var _ = host;
        Assert.Equal((0, "reminder_worker: stopped\n"), Tuple(await CtlAsync(port, "stop", "reminder_worker")));

        await File.AppendAllTextAsync(config, $"""

            crm.programs.reminder_worker.startsecs = 200ms
            crm.logging.level = DEBUG
            crm.admin.bind = "127.0.0.1:{Ports.Free()}"

            """);
        Assert.Equal((0, "reminder_worker: changed\ncrm.logging.level: changed\ncrm.admin.bind: changed, needs a restart of the host\n"),
            Tuple(await CtlAsync(port, "reread")));
        Assert.Equal((0, "reminder_worker: updated process group\ncrm.logging.level: applied\ncrm.admin.bind: not applied, needs a restart of the host\n"),
            Tuple(await CtlAsync(port, "update")));

        Assert.Contains(" STOPPED ", (await CtlAsync(port, "status", "reminder_worker")).Stdout); // it was not running: it is not started
        Assert.Equal((0, "crm.admin.bind: changed, needs a restart of the host\n"), Tuple(await CtlAsync(port, "reread")));
        Assert.Equal((0, "reminder_worker: started\n"), Tuple(await CtlAsync(port, "start", "reminder_worker")));
        Assert.Contains("started: alive for 0.2s", (await CtlAsync(port, "events")).Stdout);
        // DEBUG is in force without a restart: the start's scan logs its DEBUG line.
        await Eventually.HoldsAsync(async () => (await CtlAsync(port, "log", "peek", "500")).Stdout.Contains(" - DEBUG - "),
            TimeSpan.FromSeconds(30), "a DEBUG line is logged");
    }

    [Fact]
    public async Task Should_send_the_token_from_the_environment_and_fail_clearly_without_it()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, port, _) = await StartAsync(db, new() { ["CRM_ADMIN_TOKEN"] = "t0ken-for-tests" });
        using var _ = host;
        var url = $"http://127.0.0.1:{port}";

        var refused = await CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = url }, "stop", "reminder_worker");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("CRM_ADMIN_TOKEN", refused.Stderr);
        Assert.Equal(0, (await CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = url }, "status")).ExitCode);

        var allowed = await CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = url, ["CRM_ADMIN_TOKEN"] = "t0ken-for-tests" }, "stop", "reminder_worker");
        Assert.Equal((0, "reminder_worker: stopped\n"), Tuple(allowed));
    }

    private static (int, string) Tuple((int ExitCode, string Stdout, string Stderr) run) => (run.ExitCode, run.Stdout);
}
