using Crm.Tests.Support;
using Npgsql;

namespace Crm.Tests.Hosting;

/// <summary>
/// SPEC §8 with real host processes on loopback and one database: every node runs every program, as standalone
/// instances do, so a node's death costs no lateness; the cluster adds one operator view (each program a group of
/// one process per node, <c>NAME:NODE</c>) and one intent. Every message is serialized as if it crossed a node.
/// </summary>
[Trait("Category", "Integration")]
public class ClusterTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>supervisorctl's status columns: name to 33, state to 10, description.</summary>
    private static Dictionary<string, (string State, string Description)> StatusLines(string stdout) =>
        stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToDictionary(line => line[..33].TrimEnd(), line => (line[33..43].TrimEnd(), line[43..]));

    [Fact]
    public async Task Should_show_each_nodes_process_and_act_on_the_group_or_one_process_from_any_node()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 10);
        await using var nodes = CrmNodes.Start(db, 3, clustered: true);
        var (a, b, c) = (nodes.All[0], nodes.All[1], nodes.All[2]);
        await nodes.AllUpAsync("3 nodes Up, each running reminder_worker");

        // One view from any node: each node's process, with that node's pid.
        var status = await c.CtlAsync("status");
        Assert.Equal(0, status.ExitCode);
        var lines = StatusLines(status.Stdout);
        Assert.Equal([a.Process, b.Process, c.Process], lines.Keys.Order());
        foreach (var node in nodes.All)
        {
            Assert.Equal("RUNNING", lines[node.Process].State);
            Assert.Matches($@"^pid {node.Host.Process.Id}, uptime \d+:\d\d:\d\d$", lines[node.Process].Description);
        }
        var one = await a.CtlAsync("status", c.Process);
        Assert.Equal((0, 1), (one.ExitCode, StatusLines(one.Stdout).Count));

        // The group, from a node other than those it acts on: supervisorctl's NAME:* (SPEC §8: NAME too).
        var stop = await c.CtlAsync("stop", "reminder_worker");
        Assert.Equal(0, stop.ExitCode);
        Assert.Equal([$"{a.Process}: stopped", $"{b.Process}: stopped", $"{c.Process}: stopped"], stop.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        await nodes.AllInStateAsync(a, "STOPPED", 3);
        var stopped = await b.CtlAsync("status");
        Assert.Equal(3, stopped.ExitCode);
        // Nothing runs: supervisorctl's stop GROUP:* prints nothing and exits 0.
        var nothing = await a.CtlAsync("stop", "reminder_worker:*");
        Assert.Equal((0, ""), (nothing.ExitCode, nothing.Stdout));

        // One process, from another node; then the group's start starts only what is not running.
        var startOne = await b.CtlAsync("start", a.Process);
        Assert.Equal((0, $"{a.Process}: started\n"), (startOne.ExitCode, startOne.Stdout));
        var already = await c.CtlAsync("start", a.Process);
        Assert.Equal((0, $"{a.Process}: ERROR (already started)\n"), (already.ExitCode, already.Stdout));
        var startGroup = await a.CtlAsync("start", "reminder_worker:*");
        Assert.Equal(0, startGroup.ExitCode);
        Assert.Equal([$"{b.Process}: started", $"{c.Process}: started"], startGroup.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        var notRunning = await c.CtlAsync("stop", "reminder_worker:nosuch");
        Assert.Equal((1, "reminder_worker:nosuch: ERROR (no such process)\n"), (notRunning.ExitCode, notRunning.Stdout));
        var noGroup = await c.CtlAsync("start", "nosuch:*");
        Assert.Equal((2, "nosuch: ERROR (no such group)\n"), (noGroup.ExitCode, noGroup.Stdout));

        // A restart of the group: every stop line, then every start line.
        var restart = await b.CtlAsync("restart", "reminder_worker");
        Assert.Equal(0, restart.ExitCode);
        var restartLines = restart.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, restartLines.Length);
        Assert.All(restartLines[..3], line => Assert.EndsWith(": stopped", line));
        Assert.All(restartLines[3..], line => Assert.EndsWith(": started", line));

        // Events name each transition's node, from any node.
        var events = await a.CtlAsync("events", c.Process);
        Assert.Equal(0, events.ExitCode);
        Assert.Contains($" {c.Process} RUNNING -> STOPPING stopped by operator", events.Stdout);
        Assert.DoesNotContain($" {a.Process} ", events.Stdout);
        var all = await c.CtlAsync("events");
        Assert.All(nodes.All, node => Assert.Contains($" {node.Process} STOPPING -> STOPPED", all.Stdout));

        // update from a node other than the one whose configuration changed: that process alone restarts.
        File.AppendAllText(a.ConfigPath, "\ncrm.programs.reminder_worker.stopwaitsecs = 6s\n");
        var update = await c.CtlAsync("update");
        Assert.Equal(0, update.ExitCode);
        Assert.Equal($"{a.Process}: stopped\n{a.Process}: updated process group\n", update.Stdout);

        // The other verbs, each asked of a node other than the one that runs what it names or reads.
        var cluster = await b.CtlAsync("cluster", "show");
        Assert.Equal(0, cluster.ExitCode);
        Assert.Contains("Count: 3 nodes", cluster.Stdout);
        foreach (var node in nodes.All) Assert.Contains($"{node.Address} | [crm] | up | reachable | ", cluster.Stdout);
        Assert.Equal(0, (await c.CtlAsync("scan-now")).ExitCode);
        Assert.Equal(0, (await a.CtlAsync("health")).ExitCode);
        Assert.Equal(0, (await b.CtlAsync("actor", "hierarchy")).ExitCode);
        Assert.Equal(0, (await b.CtlAsync("log", "peek")).ExitCode);
        Assert.Equal(0, (await b.CtlAsync("reread")).ExitCode);
        Assert.Equal(0, (await c.CtlAsync("tail", "reminder_worker")).ExitCode);
        await db.AssertExactlyOnceAsync(10);

        // The dashboard and the API show the group: a card per node's process, the members with what each runs.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{b.AdminPort}") };
        var page = await http.GetStringAsync("/");
        foreach (var node in nodes.All) Assert.Contains($"data-program=\"{node.Process}\"", page);
        using var members = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/cluster"));
        var runs = members.RootElement.GetProperty("members").EnumerateArray()
            .ToDictionary(m => m.GetProperty("address").GetString()!, m => m.GetProperty("programs").EnumerateArray().Select(p => p.GetString()).ToList());
        foreach (var node in nodes.All) Assert.Equal([$"{node.Process} RUNNING"], runs[node.Address]);
        // Every message went through serialization (serialize-messages): none failed.
        var failures = nodes.All.SelectMany(n => n.Host.Output.Split('\n').Select((line, i) => (line, i, n)))
            .Where(x => x.line.Contains("Swallowing exception", StringComparison.Ordinal) || x.line.Contains("serializ", StringComparison.OrdinalIgnoreCase))
            .Select(x => string.Join('\n', x.n.Host.Output.Split('\n').Skip(x.i).Take(3))).ToList();
        Assert.True(failures.Count == 0, string.Join("\n----\n", failures));
    }

    [Fact]
    public async Task Should_run_a_process_program_as_a_group_of_one_process_per_node()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        // SPEC §11 in a cluster: an OS process program, written in HOCON, is a group like reminder_worker.
        await using var nodes = CrmNodes.Start(db, 2, clustered: true,
            """crm.programs.sleeper { command = "sleep 600", startsecs = 1s, stopwaitsecs = 2s, stdout_logfile = NONE, stderr_logfile = NONE }""");
        var (a, b) = (nodes.All[0], nodes.All[1]);
        await nodes.AllUpAsync("2 nodes Up");
        await Eventually.HoldsAsync(async () => StatusLines((await a.CtlAsync("status", "sleeper")).Stdout) is { Count: 2 } both
                                                  && both.Values.All(l => l.State == "RUNNING"),
            TimeSpan.FromSeconds(60), "sleeper RUNNING on both nodes", () => nodes.Output());

        // Each node's process is its own child, with the child's pid (not the host's), asked of the other node.
        var lines = StatusLines((await b.CtlAsync("status", "sleeper")).Stdout);
        Assert.Equal(["sleeper:crmnode-a", "sleeper:crmnode-b"], lines.Keys.Order());
        foreach (var node in nodes.All)
        {
            var other = node == a ? b : a;
            var pid = int.Parse((await other.CtlAsync("pid", $"sleeper:{node.Name}")).Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.NotEqual(node.Host.Process.Id, pid);
            Assert.Equal("sleep", System.Diagnostics.Process.GetProcessById(pid).ProcessName);
        }

        // The group, from either node: one line per process, as supervisorctl answers for a group.
        Assert.Equal((0, "sleeper:crmnode-a: stopped\nsleeper:crmnode-b: stopped\n"), (await b.CtlAsync("stop", "sleeper")) is var stop ? (stop.ExitCode, stop.Stdout) : default);
        Assert.Equal((7, "sleeper:crmnode-a: ERROR (not running)\n"), (await b.CtlAsync("signal", "HUP", "sleeper:crmnode-a")) is var refused ? (refused.ExitCode, refused.Stdout) : default);
        Assert.Equal((0, "sleeper:crmnode-a: started\nsleeper:crmnode-b: started\n"), (await a.CtlAsync("start", "sleeper:*")) is var start ? (start.ExitCode, start.Stdout) : default);
        Assert.Equal((0, "sleeper:crmnode-a: signalled\nsleeper:crmnode-b: signalled\n"), (await a.CtlAsync("signal", "CONT", "sleeper:*")) is var signalled ? (signalled.ExitCode, signalled.Stdout) : default);
    }

    [Fact]
    public async Task Should_keep_the_groups_stop_through_a_restart_of_the_whole_cluster_and_give_it_to_a_node_that_joins_later()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var nodes = CrmNodes.Start(db, 2, clustered: true);
        await nodes.AllUpAsync("2 nodes Up");
        Assert.Equal(0, (await nodes.All[1].CtlAsync("stop", "reminder_worker")).ExitCode);
        await nodes.AllInStateAsync(nodes.All[0], "STOPPED", 2);

        // The whole cluster stops (SIGTERM), then comes back with a third node that never heard the command.
        foreach (var node in nodes.All)
        {
            await node.Host.TerminateAsync();
            Assert.Equal(0, await node.Host.WaitAsync(TimeSpan.FromSeconds(60)));
        }
        nodes.Add();
        foreach (var node in nodes.All) nodes.Start(node);
        await Eventually.HoldsAsync(async () => await CrmNodes.ProcessesAsync(nodes.All[2]) is var p && p.Count == 3,
            TimeSpan.FromSeconds(120), "3 nodes seen", () => nodes.Output());
        await nodes.AllInStateAsync(nodes.All[2], "STOPPED", 3);
        var events = await nodes.All[2].CtlAsync("events", nodes.All[2].Process);
        Assert.DoesNotContain("STOPPED -> STARTING", events.Stdout); // it never started

        Assert.Equal(0, (await nodes.All[2].CtlAsync("start", "reminder_worker")).ExitCode);
        await nodes.AllInStateAsync(nodes.All[0], "RUNNING", 3);
    }

    /// <summary>
    /// crmctl cluster leave and cluster down, asked of another node. A node that leaves stops its programs gracefully
    /// (the host's shutdown: the batch in flight may finish within stopwaitsecs) and exits 0; a downed one exits 1
    /// saying so (for its container engine to start it again). Either way the other goes on alone, and an address
    /// that is no member any more is refused.
    /// </summary>
    [Theory]
    [InlineData("leave", "leaving", 0)]
    [InlineData("down", "downed", 1)]
    public async Task Should_remove_the_member_an_operator_names_to_another_node(string verb, string answer, int exitCode)
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var nodes = CrmNodes.Start(db, 2, clustered: true);
        var (a, b) = (nodes.All[0], nodes.All[1]);
        await nodes.AllUpAsync("2 nodes Up");

        var removed = await a.CtlAsync("cluster", verb, b.Address);
        Assert.Equal((0, $"{b.Address}: {answer}\n"), (removed.ExitCode, removed.Stdout));
        Assert.Equal(exitCode, await b.Host.WaitAsync(TimeSpan.FromSeconds(60)));
        if (verb == "leave")
        {
            Assert.Contains($"{b.Process} RUNNING -> STOPPING: host shutting down", b.Host.Output);
            Assert.Contains($"{b.Process} STOPPING -> STOPPED", b.Host.Output);
        }
        else Assert.Contains("This node was downed by the cluster", b.Host.Output);
        Assert.DoesNotContain("[DEBUG]", b.Host.Output);
        await Eventually.HoldsAsync(async () => (await a.CtlAsync("cluster", "show")).Stdout.Contains("Count: 1 nodes", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "the node gone", () => nodes.Output());
        var status = await a.CtlAsync("status");
        Assert.Equal(0, status.ExitCode);
        Assert.Equal([a.Process], StatusLines(status.Stdout).Keys);
        var again = await a.CtlAsync("cluster", verb, b.Address);
        Assert.NotEqual(0, again.ExitCode);
        Assert.Contains("is not a member of this cluster", again.Stdout + again.Stderr);
    }

    /// <summary>
    /// SPEC §8's leaving: a node told to leave (crmctl cluster leave, from another node) or sent SIGTERM while its batch
    /// is in flight lets that batch commit within stopwaitsecs, then exits 0. The batch is held in its transaction
    /// by the test (the assignee locked FOR UPDATE: the statement waits in its foreign key check, its interactions
    /// locked) until the leaving node's program is STOPPING.
    /// </summary>
    [Theory]
    [InlineData("leave")]
    [InlineData("SIGTERM")]
    public async Task Should_let_a_leaving_nodes_batch_in_flight_commit_before_it_exits(string how)
    {
        const int due = 10;
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync($"{CrmRows.Users(1, 2)}\n{CrmRows.Organisation}");
        await using var nodes = CrmNodes.Start(db, 2, clustered: true);
        var (a, b) = (nodes.All[0], nodes.All[1]);
        await nodes.AllUpAsync("2 nodes Up");
        Assert.Equal(0, (await b.CtlAsync("stop", a.Process)).ExitCode); // b alone writes

        await db.ExecuteAsync($"""
            INSERT INTO crm_interactions ({CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
            SELECT {CrmRows.InteractionValues()}, 'In flight ' || g, 'todo', 2, now() + interval '2 seconds' FROM generate_series(1, {due}) g
            """);
        await using var blocker = new NpgsqlConnection(db.Connection.ConnectionString);
        await blocker.OpenAsync();
        await using var blocking = await blocker.BeginTransactionAsync();
        await using (var lockAssignee = new NpgsqlCommand("SELECT id FROM users WHERE id = 2 FOR UPDATE", blocker, blocking))
            await lockAssignee.ExecuteScalarAsync();
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>($"""
                SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'crm-actors'
                  AND query LIKE 'WITH locked AS (%' AND wait_event_type = 'Lock' AND {blocker.ProcessID} = ANY(pg_blocking_pids(pid))
                """) >= 1,
            TimeSpan.FromSeconds(60), "b's batch waits in its transaction", () => nodes.Output());

        if (how == "leave") Assert.Equal(0, (await a.CtlAsync("cluster", "leave", b.Address)).ExitCode);
        else await b.Host.TerminateAsync();
        await Eventually.HoldsAsync(() => Task.FromResult(b.Host.Output.Contains($"{b.Process} RUNNING -> STOPPING", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), "b stopping its program", () => nodes.Output());
        Assert.False(b.Host.Process.HasExited); // it waits for its batch
        await blocking.CommitAsync();

        Assert.Equal(0, await b.Host.WaitAsync(TimeSpan.FromSeconds(60)));
        Assert.Equal(due, await db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
        await db.AssertExactlyOnceAsync(due);
        var log = b.Host.Output + b.Host.ReadLog("reminder_worker.log");
        Assert.Contains($"stopped after {due} notifications: the program is stopping", log); // b's scan: a's process was stopped
        Assert.Contains($"{b.Process} STOPPING -> STOPPED", log);
        Assert.DoesNotContain("did not stop within stopwaitsecs", log);
        // None of our actors' messages is lost on the way out (Akka's own cluster daemons may drop theirs as they stop).
        var ours = log.Split('\n').Where(l => l.Contains("dead letters", StringComparison.Ordinal) && l.Contains("crm-actors/user/", StringComparison.Ordinal)).ToList();
        Assert.True(ours.Count == 0, string.Join('\n', ours));
    }

    public static TheoryData<int, bool> Sizes => new() { { 1, false }, { 2, false }, { 3, false }, { 1, true }, { 2, true }, { 3, true } };

    /// <summary>
    /// SPEC §8's promise: reminders come due every 250 ms and one node is SIGKILLed (the first, the cluster's oldest);
    /// over the reminders due from 2 s before to 20 s after, p99 <= 1 s, none later than 2 s, none lost, none twice.
    /// A single node has no other to keep the promise: it is started again at once, its figure is the restart's (the
    /// host is compiled ReadyToRun for it: Crm.Host.csproj), and no reminder waits beyond its program being RUNNING again.
    /// </summary>
    [Theory]
    [MemberData(nameof(Sizes))]
    public async Task Should_keep_reminders_on_time_while_a_node_dies(int size, bool clustered)
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync($"{CrmRows.Users(1)}\n{CrmRows.Organisation}");
        await using var nodes = CrmNodes.Start(db, size, clustered);
        await nodes.AllUpAsync($"{size} nodes up");
        await using var trickle = new ReminderTrickle(db);
        trickle.Start();
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") >= 12,
            TimeSpan.FromSeconds(60), "reminders written", () => nodes.Output());

        var victim = nodes.All[0];
        var killedAt = await db.ScalarAsync<DateTime>("SELECT now()");
        victim.Host.Process.Kill();
        await victim.Host.Process.WaitForExitAsync();
        var restart = TimeSpan.Zero;
        if (size == 1)
        {
            // No other node: reminders wait for its restart, and none beyond it: the program's first scan writes
            // them before the program is RUNNING (startsecs later).
            nodes.Start(victim);
            var process = clustered ? victim.Process : "reminder_worker";
            await Eventually.HoldsAsync(async () => (await CrmNodes.ProcessesAsync(victim)).GetValueOrDefault(process) == "RUNNING",
                TimeSpan.FromSeconds(60), "the node's program RUNNING again", () => nodes.Output());
            restart = await db.ScalarAsync<DateTime>("SELECT now()") - killedAt;
        }
        var window = TimeSpan.FromSeconds(20) + ReminderTrickle.Ahead - restart; // the measure's: reminders keep coming due meanwhile
        if (window > TimeSpan.Zero) await Task.Delay(window);
        await trickle.StopAsync();
        var total = trickle.Inserted;
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") >= total,
            TimeSpan.FromSeconds(60), $"all {total} written", () => nodes.Output());
        await db.AssertExactlyOnceAsync(total);

        var lateness = await trickle.LatenessAsync(killedAt.AddSeconds(-2), killedAt.AddSeconds(20));
        output.WriteLine($"{size} node(s), {(clustered ? "cluster" : "standalone")}, SIGKILL of {victim.Name}: {lateness}{(size == 1 ? $", RUNNING again {restart.TotalSeconds:0.00} s after the kill" : "")}");
        Assert.Equal(0, lateness.Unwritten);
        Assert.InRange(lateness.Count, 70, 100);
        if (size > 1)
        {
            Assert.InRange(lateness.P99, 0, 1.0);
            Assert.InRange(lateness.Max, 0, 2.0);
        }
        // A lone node has no other to keep the promise: its figure is its restart's (p99 0.4 to 0.6 s on an idle
        // machine, 1.1 to 1.6 s with two busy loops beside it: README), and nothing waits beyond the restart.
        else Assert.InRange(lateness.Max, 0, restart.TotalSeconds);
    }

    /// <summary>
    /// A rolling restart, as Kubernetes does one pod at a time: each node gets SIGTERM (its batch in flight finishes
    /// within stopwaitsecs), starts again and rejoins before the next; reminders keep coming due every 250 ms.
    /// </summary>
    [Fact]
    public async Task Should_keep_every_reminder_within_two_seconds_through_a_rolling_restart_of_the_cluster()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync($"{CrmRows.Users(1)}\n{CrmRows.Organisation}");
        await using var nodes = CrmNodes.Start(db, 3, clustered: true);
        await nodes.AllUpAsync("3 nodes up");
        await using var trickle = new ReminderTrickle(db);
        var from = await db.ScalarAsync<DateTime>("SELECT now()");
        trickle.Start();

        foreach (var node in nodes.All)
        {
            await node.Host.TerminateAsync();
            Assert.Equal(0, await node.Host.WaitAsync(TimeSpan.FromSeconds(60)));
            nodes.Start(node);
            await nodes.AllUpAsync($"{node.Name} back");
        }
        var to = await db.ScalarAsync<DateTime>("SELECT now()");
        await trickle.StopAsync();
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM notifications") >= trickle.Inserted,
            TimeSpan.FromSeconds(60), "all written", () => nodes.Output());
        await db.AssertExactlyOnceAsync(trickle.Inserted);
        var lateness = await trickle.LatenessAsync(from, to);
        output.WriteLine($"rolling restart of 3 nodes: {lateness}");
        Assert.Equal(0, lateness.Unwritten);
        Assert.InRange(lateness.Max, 0, 2.0);
    }
}
