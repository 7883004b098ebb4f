using System.Text.Json;

namespace Crm.Tests.Support;

/// <summary>
/// Several real Crm.Host processes on one database, on loopback: standalone instances, or the nodes of one cluster
/// (SPEC §8). Clustered, every message is serialized as if it crossed a node (<c>akka.actor.serialize-messages</c>),
/// so that a message that cannot cross one fails in every test that sends it.
/// </summary>
public sealed class CrmNodes : IAsyncDisposable
{
    public sealed class Node
    {
        public required string Name { get; init; }
        public required int AdminPort { get; init; }
        public required int ClusterPort { get; init; }
        public required string ConfigPath { get; init; }
        public HostProcess Host { get; set; } = null!;
        public string Address => $"akka.tcp://crm-actors@127.0.0.1:{ClusterPort}";
        public string Process => $"reminder_worker:{Name}";
        public Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args) => HostProcess.CtlAsync(AdminPort, args);
    }

    private readonly TestDatabase _db;
    private readonly string _extraConfig;
    public bool Clustered { get; }
    public List<Node> All { get; } = [];

    private CrmNodes(TestDatabase db, bool clustered, string extraConfig) => (_db, Clustered, _extraConfig) = (db, clustered, extraConfig);

    /// <summary><paramref name="count"/> hosts, named crmnode-a, crmnode-b, ..., started at once.</summary>
    public static CrmNodes Start(TestDatabase db, int count, bool clustered, string extraConfig = "")
    {
        var nodes = new CrmNodes(db, clustered, extraConfig);
        for (var i = 0; i < count; i++) nodes.Add();
        foreach (var node in nodes.All) nodes.Start(node);
        return nodes;
    }

    /// <summary>A node more, not started yet (a node that joins later).</summary>
    public Node Add()
    {
        var node = new Node
        {
            Name = $"crmnode-{(char)('a' + All.Count)}",
            AdminPort = Ports.Free(),
            ClusterPort = Ports.Free(),
            ConfigPath = Path.Combine(Directory.CreateTempSubdirectory("crm-node-").FullName, "crm.conf"),
        };
        All.Add(node);
        return node;
    }

    /// <summary>Writes the node's configuration (its own section, then <paramref name="more"/>) and starts it.</summary>
    public void Start(Node node, string more = "")
    {
        var seeds = string.Join(", ", All.Select(n => $"\"{n.Address}\""));
        File.WriteAllText(node.ConfigPath, $$"""
            crm.admin.bind = "127.0.0.1:{{node.AdminPort}}"
            crm.node.name = "{{node.Name}}"
            crm.programs.reminder_worker { startsecs = 1s, stopwaitsecs = 5s }
            {{(Clustered ? $$"""
                crm.cluster { enabled = on, hostname = "127.0.0.1", port = {{node.ClusterPort}}, seed-nodes = [{{seeds}}] }
                akka.actor.serialize-messages = on
                """ : "")}}
            {{_extraConfig}}
            {{more}}
            """);
        node.Host = HostProcess.Start(["--config", node.ConfigPath], new Dictionary<string, string> { ["DATABASE_URL"] = _db.Url });
    }

    public string Output(IEnumerable<Node>? nodes = null) =>
        string.Join("\n----\n", (nodes ?? All).Select(n => $"{n.Name}:\n{Tail(n.Host.Output)}"));

    private static string Tail(string text) => text[^Math.Min(6000, text.Length)..];

    private static async Task<JsonDocument?> GetAsync(Node node, string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try { return JsonDocument.Parse(await http.GetStringAsync($"http://127.0.0.1:{node.AdminPort}{path}")); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException) { return null; }
    }

    /// <summary>The processes a node reports (every node's, clustered): name and state.</summary>
    public static async Task<Dictionary<string, string>> ProcessesAsync(Node node)
    {
        using var json = await GetAsync(node, "/api/programs");
        return json?.RootElement.EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!, p => p.GetProperty("state").GetString()!) ?? [];
    }

    /// <summary>Every node running, and (clustered) every node a member Up and reachable of every other's view.</summary>
    public async Task AllUpAsync(string what, IReadOnlyList<Node>? nodes = null)
    {
        nodes ??= All;
        await Eventually.HoldsAsync(async () =>
        {
            foreach (var node in nodes)
            {
                var processes = await ProcessesAsync(node);
                var expected = Clustered ? nodes.Select(n => n.Process).ToList() : ["reminder_worker"];
                if (!expected.All(p => processes.GetValueOrDefault(p) == "RUNNING")) return false;
                if (!Clustered) continue;
                using var json = await GetAsync(node, "/api/cluster");
                if (json is null) return false;
                var members = json.RootElement.GetProperty("members").EnumerateArray().ToList();
                if (members.Count != nodes.Count || members.Any(m => m.GetProperty("status").GetString() != "Up" || !m.GetProperty("reachable").GetBoolean()))
                    return false;
            }
            return true;
        }, TimeSpan.FromSeconds(150), what, () => Output(nodes));
    }

    /// <summary>Every process of <paramref name="node"/>'s view in <paramref name="state"/>.</summary>
    public async Task AllInStateAsync(Node node, string state, int count) =>
        await Eventually.HoldsAsync(async () => await ProcessesAsync(node) is var processes && processes.Count == count && processes.Values.All(s => s == state),
            TimeSpan.FromSeconds(60), $"{count} processes {state}", () => Output());

    public async ValueTask DisposeAsync()
    {
        foreach (var node in All) node.Host?.Dispose();
        await Task.CompletedTask;
    }
}

/// <summary>
/// Reminders coming due one after another, each <see cref="Every"/> apart, scheduled <see cref="Ahead"/> in the
/// future (so that the service's planned wake-ups are what writes them on time); lateness is the notification's
/// created_at minus next_action_at, both by the database's clock.
/// </summary>
public sealed class ReminderTrickle(TestDatabase db) : IAsyncDisposable
{
    public static readonly TimeSpan Every = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan Ahead = TimeSpan.FromSeconds(2);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    public int Inserted { get; private set; }

    public void Start() => _loop = Task.Run(async () =>
    {
        var next = DateTime.UtcNow;
        while (!_stop.IsCancellationRequested)
        {
            await db.ExecuteAsync($"""
                INSERT INTO crm_interactions ({CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
                VALUES ({CrmRows.InteractionValues()}, 'Trickle {Inserted}', 'todo', 1, now() + interval '{Ahead.TotalMilliseconds} milliseconds')
                """);
            Inserted++;
            next += Every;
            var wait = next - DateTime.UtcNow;
            if (wait > TimeSpan.Zero) await Task.Delay(wait);
        }
    });

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        if (_loop is not null) await _loop;
    }

    public sealed record Lateness(int Count, double P50, double P99, double Max, long Unwritten)
    {
        public override string ToString() => $"{Count} reminders: p50 {P50:0.000} s, p99 {P99:0.000} s, max {Max:0.000} s, {Unwritten} unwritten";
    }

    /// <summary>Lateness of the reminders due between <paramref name="from"/> and <paramref name="to"/> (database time).</summary>
    public async Task<Lateness> LatenessAsync(DateTime from, DateTime to)
    {
        var rows = await db.RowsAsync($"""
            SELECT count(*)::int AS n,
                   coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM n.created_at - i.next_action_at)), 0)::float8 AS p50,
                   coalesce(percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM n.created_at - i.next_action_at)), 0)::float8 AS p99,
                   coalesce(max(extract(epoch FROM n.created_at - i.next_action_at)), 0)::float8 AS max
            FROM crm_interactions i JOIN notifications n ON n.resource_id = i.id
            WHERE i.title LIKE 'Trickle %' AND i.next_action_at BETWEEN '{from:O}'::timestamptz AND '{to:O}'::timestamptz
            """);
        var unwritten = await db.ScalarAsync<long>($"""
            SELECT count(*) FROM crm_interactions WHERE title LIKE 'Trickle %' AND notified_at IS NULL
              AND next_action_at BETWEEN '{from:O}'::timestamptz AND '{to:O}'::timestamptz
            """);
        var row = rows.Single();
        return new Lateness((int)row["n"]!, (double)row["p50"]!, (double)row["p99"]!, (double)row["max"]!, unwritten);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _stop.Dispose();
    }
}
