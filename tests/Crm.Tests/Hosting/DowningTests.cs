using System.Diagnostics;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Hosting;

/// <summary>
/// SPEC §8's downing, with real host processes on loopback and the split-brain resolver's lease in PostgreSQL:
/// the survivor of a node's death stays Up with 2 nodes as with 3, and a frozen node (a partition, as the others
/// see it) is downed by the others and, once it wakes, finds itself downed and exits.
/// </summary>
[Trait("Category", "Integration")]
public class DowningTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private sealed class Node : IDisposable
    {
        public int AdminPort { get; } = Ports.Free();
        public int ClusterPort { get; } = Ports.Free();
        // Longer than the 5 s a node waits for a dead member's part of a report before answering with the rest.
        public HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(15) };
        /// <summary>Null until started: a test that fails before hides nothing behind its clean-up.</summary>
        public HostProcess? Started { get; set; }
        public HostProcess Host => Started ?? throw new InvalidOperationException("not started");
        public string Address => $"akka.tcp://crm-actors@127.0.0.1:{ClusterPort}";
        public string Name => $"node-{ClusterPort}";
        /// <summary>As Akka names the lease's owner: the node's address without its protocol.</summary>
        public string LeaseOwner => $"crm-actors@127.0.0.1:{ClusterPort}";

        public void Dispose()
        {
            Started?.Dispose();
            Http.Dispose();
        }
    }

    private static void Start(Node node, IReadOnlyList<Node> all, TestDatabase db)
    {
        var seeds = string.Join(", ", all.Select(n => $"\"{n.Address}\""));
        var config = Ports.ConfigFile($$"""
            crm.admin.bind = "127.0.0.1:{{node.AdminPort}}"
            crm.node.name = "{{node.Name}}"
            crm.cluster { enabled = on, hostname = "127.0.0.1", port = {{node.ClusterPort}}, seed-nodes = [{{seeds}}] }
            crm.programs.reminder_worker.startsecs = 1s
            akka.actor.serialize-messages = on
            """);
        node.Started = HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });
        node.Http.BaseAddress = new Uri($"http://127.0.0.1:{node.AdminPort}");
    }

    /// <summary>The members as <paramref name="node"/> sees them; none while it does not answer.</summary>
    private static async Task<List<(string Address, string Status, bool Reachable)>> MembersAsync(Node node)
    {
        try
        {
            using var json = JsonDocument.Parse(await node.Http.GetStringAsync("/api/cluster"));
            return json.RootElement.GetProperty("members").EnumerateArray()
                .Select(m => (m.GetProperty("address").GetString()!, m.GetProperty("status").GetString()!, m.GetProperty("reachable").GetBoolean()))
                .ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { return []; }
    }

    /// <summary>Every one of <paramref name="viewers"/> sees exactly <paramref name="members"/>, each Up and reachable.</summary>
    private static Task MembersAreAsync(IReadOnlyList<Node> viewers, IReadOnlyList<Node> members, TimeSpan timeout, string what) =>
        Eventually.HoldsAsync(async () =>
        {
            foreach (var viewer in viewers)
            {
                var seen = await MembersAsync(viewer);
                if (!seen.Select(m => m.Address).Order().SequenceEqual(members.Select(m => m.Address).Order())
                    || seen.Any(m => m.Status != "Up" || !m.Reachable)) return false;
            }
            return true;
        }, timeout, what, () => string.Join("\n----\n", viewers.Select(n => Tail(n.Host.Output))));

    /// <summary>
    /// The states of <paramref name="node"/>'s own reminder_worker in GET /api/programs: the program as the node
    /// reports it, or its process of the group (NAME:NODE) when the report lists one per node.
    /// </summary>
    private static async Task<List<string>> ReminderWorkerStatesAsync(Node node)
    {
        try
        {
            using var json = JsonDocument.Parse(await node.Http.GetStringAsync("/api/programs"));
            return json.RootElement.EnumerateArray()
                .Where(p => p.GetProperty("name").GetString() is { } name && (name == "reminder_worker" || name == $"reminder_worker:{node.Name}"))
                .Select(p => p.GetProperty("state").GetString()!)
                .ToList();
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { return ["NO ANSWER"]; }
    }

    private static async Task<bool> RunningAsync(Node node) => await ReminderWorkerStatesAsync(node) is [_, ..] states && states.All(s => s == "RUNNING");

    private static string Tail(string text) => text[^Math.Min(8000, text.Length)..];

    private static void Signal(Node node, string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", node.Host.Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
        Assert.Equal(0, kill.ExitCode);
    }

    /// <summary>The first node alone (it starts the cluster, as the first seed), then the others.</summary>
    private static async Task StartClusterAsync(IReadOnlyList<Node> nodes, TestDatabase db)
    {
        Start(nodes[0], nodes, db);
        await MembersAreAsync([nodes[0]], [nodes[0]], TimeSpan.FromSeconds(60), "the first node is Up");
        foreach (var node in nodes.Skip(1)) Start(node, nodes, db);
        await MembersAreAsync(nodes, nodes, TimeSpan.FromSeconds(60), $"{nodes.Count} nodes Up");
    }

    private static async Task<string> LeaseHolderAsync(TestDatabase db) =>
        await db.ScalarAsync<string>("SELECT coalesce((SELECT owner FROM crm_actors.cluster_lease WHERE name = 'crm-actors-akka-sbr'), '')");

    [Fact]
    public async Task Should_keep_the_survivor_of_two_Up_and_running_when_the_other_node_is_killed()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        // The victim has the lowest address: keep-majority breaks the tie of two its way and would down the survivor.
        var nodes = new[] { new Node(), new Node() }.OrderByDescending(n => n.ClusterPort).ToArray();
        var (survivor, victim) = (nodes[0], nodes[1]);
        try
        {
            await StartClusterAsync(nodes, db);
            await Eventually.HoldsAsync(() => RunningAsync(survivor), TimeSpan.FromSeconds(30), "the survivor's reminder_worker is RUNNING");

            var clock = Stopwatch.StartNew();
            victim.Host.Process.Kill(); // SIGKILL
            await victim.Host.Process.WaitForExitAsync();
            // Until the killed node is removed, the survivor's program is looked at every 100 ms: it never leaves RUNNING.
            var seen = new List<string>();
            await Eventually.HoldsAsync(async () =>
            {
                seen.AddRange(await ReminderWorkerStatesAsync(survivor));
                await Task.Delay(100);
                var members = await MembersAsync(survivor);
                return members is [var only] && only.Address == survivor.Address && only.Status == "Up";
            }, TimeSpan.FromSeconds(40), "the survivor removes the killed node and stays Up", () => Tail(survivor.Host.Output));
            output.WriteLine($"2 nodes: the killed node was removed {clock.Elapsed.TotalSeconds:0.0} s after the SIGKILL; {seen.Count} looks at the survivor's program");

            Assert.All(seen, state => Assert.Equal("RUNNING", state));
            Assert.True(await RunningAsync(survivor));
            Assert.False(survivor.Host.Process.HasExited);
            Assert.Equal(survivor.LeaseOwner, await LeaseHolderAsync(db)); // the survivor decided, holding the lease
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }

    [Fact]
    public async Task Should_down_a_frozen_node_of_three_and_make_it_exit_once_it_wakes()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var nodes = new[] { new Node(), new Node(), new Node() };
        var frozen = nodes[2];
        var others = nodes[..2];
        try
        {
            await StartClusterAsync(nodes, db);

            var clock = Stopwatch.StartNew();
            Signal(frozen, "STOP"); // as the others see it, a partition: the node is there but never answers
            await MembersAreAsync(others, others, TimeSpan.FromSeconds(40), "the two others down the frozen node and go on");
            output.WriteLine($"3 nodes: the frozen node was removed {clock.Elapsed.TotalSeconds:0.0} s after SIGSTOP");
            Assert.Contains(await LeaseHolderAsync(db), others.Select(n => n.LeaseOwner));

            clock.Restart();
            Signal(frozen, "CONT");
            var exitCode = await frozen.Host.WaitAsync(TimeSpan.FromSeconds(40));
            output.WriteLine($"the woken node exited {clock.Elapsed.TotalSeconds:0.0} s after SIGCONT, code {exitCode}");
            Assert.Equal(1, exitCode); // downed: a failure, for its container engine to restart
            Assert.Contains($"not acquired by {frozen.LeaseOwner}", frozen.Host.Output); // the lease, held by the others, decided
            Assert.True(frozen.Host.Output.Contains("This node was downed by the cluster"), Tail(frozen.Host.Output));

            await MembersAreAsync(others, others, TimeSpan.FromSeconds(10), "the two others are still Up");
            foreach (var node in others)
                await Eventually.HoldsAsync(() => RunningAsync(node), TimeSpan.FromSeconds(10), $"{node.Name}'s reminder_worker is RUNNING");
            Assert.All(others, node => Assert.False(node.Host.Process.HasExited));
        }
        finally
        {
            foreach (var node in nodes) node.Dispose();
        }
    }
}
