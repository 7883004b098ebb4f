using System.Diagnostics;
using System.Net;
using Crm.Tests.Support;
using Npgsql;

namespace Crm.Tests.Admin;

/// <summary>
/// SPEC §5 <c>/health/ready</c> answers from what the service already knows: probed as often as one likes, the
/// database sees at most one check a minute (none while the LISTEN connection is open), and the probe still turns
/// 503 when the database goes away.
/// </summary>
[Trait("Category", "Integration")]
public class ReadyProbeTests(Xunit.Abstractions.ITestOutputHelper output)
{
    /// <summary>PostgreSQL 15 publishes a session's counts once it is idle, within 10 s (PGSTAT_IDLE_INTERVAL).</summary>
    private static readonly TimeSpan StatsSettle = TimeSpan.FromSeconds(11);

    [Fact]
    public async Task Should_answer_hundreds_of_probes_with_at_most_one_database_check_a_minute_and_turn_503_when_the_database_goes()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        using var proxy = new OutageProxy(db.Connection.Port);
        var (config, port) = Ports.ServiceConfig("crm.programs.reminder_worker { min-backoff = 100ms, max-backoff = 1s }");
        using var host = HostProcess.Start(["--config", config],
            new Dictionary<string, string> { ["DATABASE_URL"] = $"postgresql://{db.Connection.Username}@127.0.0.1:{proxy.Port}/{db.Name}" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await http.GetStringAsync("/api/logs/peek?lines=200")).Contains("the database announces every change"); }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "the host listens for changes", () => host.Output);

        var before = await SettledTransactionsAsync(db.Name);
        var probing = Stopwatch.StartNew();
        var answers = new List<HttpStatusCode>();
        // 200 probes one after the other, then 200 at once.
        for (var i = 0; i < 200; i++) answers.Add((await http.GetAsync("/health/ready")).StatusCode);
        answers.AddRange((await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => http.GetAsync("/health/ready")))).Select(r => r.StatusCode));
        probing.Stop();
        var after = await SettledTransactionsAsync(db.Name);

        Assert.All(answers, code => Assert.Equal(HttpStatusCode.OK, code));
        var allowed = 1 + (int)Math.Ceiling(probing.Elapsed.TotalMinutes);
        output.WriteLine($"{answers.Count} probes in {probing.Elapsed.TotalSeconds:0.0} s: {after - before} transactions in the database (allowed {allowed})");
        Assert.InRange(after - before, 0, allowed);

        // The database goes away: the LISTEN connection is cut, and the next probe says so.
        proxy.Down();
        var down = Stopwatch.StartNew();
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(10), "/health/ready turns 503", () => host.Output);
        output.WriteLine($"503 {down.Elapsed.TotalSeconds:0.0} s after the database went away");
        proxy.Up();
        await Eventually.HoldsAsync(async () => (await http.GetAsync("/health/ready")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(70), "/health/ready turns 200 again", () => host.Output);
    }

    /// <summary>The database's transactions (each statement of the host is one), once the count has stopped moving.</summary>
    private static async Task<long> SettledTransactionsAsync(string database)
    {
        var last = await TransactionsAsync(database);
        var since = Stopwatch.StartNew();
        while (since.Elapsed < StatsSettle)
        {
            await Task.Delay(500);
            var now = await TransactionsAsync(database);
            if (now != last) (last, since) = (now, Stopwatch.StartNew());
        }
        return last;
    }

    private static async Task<long> TransactionsAsync(string database)
    {
        // From the server's maintenance database: reading the count adds none to the counted one.
        await using var connection = new NpgsqlConnection(PostgresServer.Admin().ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = @name", connection);
        command.Parameters.AddWithValue("name", database);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
