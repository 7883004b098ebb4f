using System.Diagnostics;
using Crm.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Crm.Tests.Hosting;

/// <summary>The published behaviour of Crm.Host (SPEC §2), run as a real process.</summary>
[Trait("Category", "Integration")]
public class HostProcessTests
{
    private static Dictionary<string, string> Env(TestDatabase db) => new() { ["DATABASE_URL"] = db.Url };

    [Fact]
    public async Task Should_exit_2_naming_the_key_and_value_of_an_invalid_setting()
    {
        var (code, output) = await HostProcess.RunAsync(["--once", "--config", Ports.ConfigFile("crm.reminders.batch-size = lots")]);
        Assert.Equal(2, code);
        Assert.Contains("crm.reminders.batch-size = 'lots'", output);
    }

    [Fact]
    public async Task Should_print_its_options_and_exit_0_for_help()
    {
        var (code, output) = await HostProcess.RunAsync(["--help"]);
        Assert.Equal(0, code);
        Assert.StartsWith("usage: Crm.Host [--config FILE]", output);
        Assert.Contains("--migrate", output);
    }

    /// <summary>The README's crmctl: the script at the root of a clone, which builds it when needed.</summary>
    [Fact]
    public async Task Should_run_crmctl_from_the_script_at_the_root_of_the_clone_as_the_README_says()
    {
        var script = Path.Combine(Path.GetDirectoryName(HostProcess.HostDll)!, "..", "..", "..", "..", "..", "crmctl");
        using var process = Process.Start(new ProcessStartInfo(Path.GetFullPath(script), ["--help"]) { RedirectStandardOutput = true })!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.Equal(0, process.ExitCode);
        Assert.Contains("status", stdout);
    }

    [Fact]
    public async Task Should_exit_2_for_an_unknown_argument()
    {
        var (code, output) = await HostProcess.RunAsync(["--onse"]);
        Assert.Equal(2, code);
        Assert.Contains("--onse", output);
    }

    [Fact]
    public async Task Should_exit_2_for_a_malformed_DATABASE_URL_without_printing_its_password()
    {
        var (code, output) = await HostProcess.RunAsync(["--once"], new Dictionary<string, string> { ["DATABASE_URL"] = "mysql://crm:hunter2@db/crm" });
        Assert.Equal(2, code);
        Assert.Contains("DATABASE_URL", output);
        Assert.DoesNotContain("hunter2", output);
    }

    [Fact]
    public async Task Should_exit_1_with_advice_when_the_database_is_not_migrated_and_log_it_as_an_error()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        using var host = HostProcess.Start(["--once"], Env(db));
        Assert.Equal(1, await host.WaitAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("run Crm.Host --migrate", host.Output);
        var errors = await File.ReadAllTextAsync(Path.Combine(host.WorkingDirectory, "logs", "reminder_worker_error.log"));
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - Crm.Host - CRITICAL - Crm.Host failed: .*--migrate", errors);
    }

    [Fact]
    public async Task Should_migrate_then_process_the_whole_backlog_once_and_exit_0()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        await db.SeedBacklogAsync(due: 1_234, notDue: 10);

        Assert.Equal(0, (await HostProcess.RunAsync(["--migrate"], Env(db))).ExitCode);
        Assert.Equal(0, (await HostProcess.RunAsync(["--migrate"], Env(db))).ExitCode);
        using var host = HostProcess.Start(["--once", "--config", Ports.ConfigFile("crm.reminders.batch-size = 100")], Env(db));
        Assert.Equal(0, await host.WaitAsync(TimeSpan.FromMinutes(2)));

        await db.AssertExactlyOnceAsync(1_234);
        var logs = Path.Combine(host.WorkingDirectory, "logs");
        Assert.Matches(@"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d - Crm.Actors.Reminders.ReminderScanActor - INFO - Found 1234 interactions needing reminders: 1234 notified",
            await File.ReadAllTextAsync(Path.Combine(logs, "reminder_worker.log")));
        var errors = Path.Combine(logs, "reminder_worker_error.log");
        Assert.True(!File.Exists(errors) || new FileInfo(errors).Length == 0, "a clean run writes nothing to the error log");
    }

    [Fact]
    public async Task Should_write_each_occurrence_once_when_two_once_runs_race_on_a_20000_row_backlog()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 20_000);

        using var a = HostProcess.Start(["--once"], Env(db));
        using var b = HostProcess.Start(["--once"], Env(db));
        var codes = await Task.WhenAll(a.WaitAsync(TimeSpan.FromMinutes(3)), b.WaitAsync(TimeSpan.FromMinutes(3)));

        Assert.Equal([0, 0], codes);
        await db.AssertExactlyOnceAsync(20_000);
    }

    [Fact]
    public async Task Should_write_each_occurrence_once_and_miss_none_after_a_SIGKILL_mid_backlog()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 20_000);
        var config = Ports.ConfigFile("crm.reminders.batch-size = 50");

        using (var doomed = HostProcess.Start(["--once", "--config", config], Env(db)))
        {
            await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") >= 1_000,
                TimeSpan.FromMinutes(2), "the first run writes some batches");
            doomed.Process.Kill(); // SIGKILL: no shutdown hook runs, nothing is rolled back by the client
            await doomed.Process.WaitForExitAsync();
        }
        // A statement the server was running when the client died still commits (or not) whole: wait for it.
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle' AND query LIKE '%notifications%'
                """) == 0,
            TimeSpan.FromSeconds(30), "the killed host's statements have ended");
        var written = await db.ScalarAsync<long>("SELECT count(*) FROM notifications");
        Assert.InRange(written, 1_000, 19_999);
        await db.AssertExactlyOnceAsync((int)written); // whole batches only

        Assert.Equal(0, (await HostProcess.RunAsync(["--once", "--config", config], Env(db))).ExitCode);
        await db.AssertExactlyOnceAsync(20_000);
    }

    [Fact]
    public async Task Should_show_a_newcomer_reminders_within_seconds_with_demo_and_exit_0_on_SIGTERM()
    {
        using var host = HostProcess.Start(["--demo", "--config", Ports.ServiceConfig().Path]);
        var database = Path.Combine(host.WorkingDirectory, "data", "crm-actors.db");

        await Eventually.HoldsAsync(async () =>
        {
            if (!File.Exists(database)) return false;
            await using var connection = new SqliteConnection($"Data Source={database};Mode=ReadOnly;Pooling=False");
            await connection.OpenAsync();
            await using var command = new SqliteCommand("SELECT count(*) FROM notifications", connection);
            try { return Convert.ToInt64(await command.ExecuteScalarAsync()) >= 2; }
            catch (SqliteException) { return false; } // tables not created yet
        }, TimeSpan.FromSeconds(40), "the demo's first two reminders are written, 3 s and 15 s after its start");

        using (var kill = Process.Start("kill", ["-TERM", host.Process.Id.ToString()]))
            await kill.WaitForExitAsync();
        Assert.Equal(0, await host.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Found 1 interactions needing reminders: 1 notified", host.Output);
    }
}

[Trait("Category", "Integration")]
public class HostSupervisionTests
{
    [Fact]
    public async Task Should_go_FATAL_on_an_unmigrated_database_come_back_after_migrate_and_stop_on_SIGTERM_with_exit_0()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        var env = new Dictionary<string, string> { ["DATABASE_URL"] = db.Url };
        var (config, _) = Ports.ServiceConfig("""
            crm.reminders.interval = 1s
            crm.programs.reminder_worker { startsecs = 500ms, startretries = 1, min-backoff = 100ms, fatal-retry-after = 1s }
            """);

        using var host = HostProcess.Start(["--config", config], env);
        await Eventually.HoldsAsync(() => Task.FromResult(host.Output.Contains("STARTING -> FATAL")), TimeSpan.FromSeconds(60), "FATAL");
        // The log file keeps the order (the console splits warnings to stderr).
        var log = host.ReadLog("reminder_worker.log");
        Assert.Matches(@"STOPPED -> STARTING: autostart[\s\S]*STARTING -> BACKOFF[\s\S]*BACKOFF -> STARTING[\s\S]*STARTING -> FATAL: Exited too quickly", log);
        Assert.Contains("run Crm.Host --migrate", host.Output);

        Assert.Equal(0, (await HostProcess.RunAsync(["--migrate"], env)).ExitCode);
        await db.SeedBacklogAsync(due: 3);
        await Eventually.HoldsAsync(() => Task.FromResult(host.Output.Contains("STARTING -> RUNNING")), TimeSpan.FromSeconds(60), "back to RUNNING");
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") == 3,
            TimeSpan.FromSeconds(30), "the reminders are written");
        // The journal's tables came with --migrate: the history from before, FATAL included, is caught up.
        await Eventually.HoldsAsync(async () =>
        {
            try
            {
                return await db.ScalarAsync<long>("""
                    SELECT count(DISTINCT convert_from(message, 'UTF8')::json->>'To') FROM crm_actors.journal
                    WHERE convert_from(message, 'UTF8')::json->>'To' IN ('Backoff', 'Fatal', 'Running')
                    """) == 3;
            }
            catch (Npgsql.PostgresException) { return false; }
        }, TimeSpan.FromSeconds(60), "the transitions are journaled", () => host.ReadLog("reminder_worker.log"));

        using (var kill = Process.Start("kill", ["-TERM", host.Process.Id.ToString()]))
            await kill.WaitForExitAsync();
        Assert.Equal(0, await host.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("RUNNING -> STOPPING: host shutting down", host.Output);
        Assert.Contains("STOPPING -> STOPPED", host.Output);
        // Nothing in Akka's own format at the end of the shutdown (its console logger, once Serilog's is gone).
        Assert.True(!host.Output.Contains("[DEBUG]", StringComparison.Ordinal), host.Output[^Math.Min(3000, host.Output.Length)..]);
        // The last transition is journaled too: the next start's history shows it. (The journal's JSON leaves out an
        // enum at its default, Stopped.)
        Assert.Equal(1, await db.ScalarAsync<long>("""
            SELECT count(*) FROM crm_actors.journal WHERE convert_from(message, 'UTF8')::json->>'From' = 'Stopping'
              AND coalesce(convert_from(message, 'UTF8')::json->>'To', 'Stopped') = 'Stopped'
            """));
    }
}
