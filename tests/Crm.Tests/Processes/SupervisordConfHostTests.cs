using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Crm.Tests.Support;

namespace Crm.Tests.Processes;

/// <summary>
/// A real host run on the CRM's own supervisord.conf (tests/fixtures/crm_supervisord.conf, with its /app paths
/// moved to a temporary folder, nothing else changed): its <c>[program:api]</c>, the CRM's uvicorn command line
/// with --reload (Debian's python3-uvicorn and python3-fastapi), on a stand-in FastAPI app; its
/// <c>[program:reminder_worker]</c> as the built-in program; on a real PostgreSQL.
/// </summary>
[Trait("Category", "Integration")]
public sealed partial class SupervisordConfHostTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly string _app = Directory.CreateTempSubdirectory("crm-app-").FullName;
    private readonly int _apiPort = Ports.Free();
    private TestDatabase _db = null!;
    private HostProcess _host = null!;
    private int _adminPort;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };

    [GeneratedRegex(@"^api +RUNNING +pid (\d+), uptime \d+:\d\d:\d\d$", RegexOptions.Multiline)]
    private static partial Regex ApiRunning();

    public async Task InitializeAsync()
    {
        _db = await PostgresServer.CreateDatabaseAsync();
        Directory.CreateDirectory(Path.Combine(_app, "logs"));
        File.Copy(Path.Combine(Fixtures, "crm_api", "main.py"), Path.Combine(_app, "main.py"));
        var conf = Path.Combine(_app, "supervisord.conf");
        File.WriteAllText(conf, File.ReadAllText(Path.Combine(Fixtures, "crm_supervisord.conf")).Replace("/app", _app, StringComparison.Ordinal));
        (var config, _adminPort) = Ports.ServiceConfig();
        _host = HostProcess.Start(["--config", config, "--supervisord-conf", conf],
            new Dictionary<string, string> { ["DATABASE_URL"] = _db.Url, ["API_PORT"] = _apiPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await Eventually.HoldsAsync(async () => (await CtlAsync("status")).Stdout.Split('\n').Count(l => l.Contains(" RUNNING ")) == 2, Wait,
            "api and reminder_worker RUNNING", () => _host.Output);
    }

    public async Task DisposeAsync()
    {
        _host.Dispose();
        _http.Dispose();
        await _db.DisposeAsync();
        try { Directory.Delete(_app, recursive: true); } catch (IOException) { }
    }

    private static string Fixtures => Path.Combine(AppContext.BaseDirectory, "fixtures");

    private Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args) => HostProcess.CtlAsync(_adminPort, args);

    private async Task<int?> ApiWorkerAsync()
    {
        try { return (await _http.GetFromJsonAsync<ApiHealth>($"http://127.0.0.1:{_apiPort}/health"))?.Pid; }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    private sealed record ApiHealth(string Status, int Pid);

    /// <summary>Every process whose process group is <paramref name="group"/> (zombies included: they still hold it).</summary>
    private static IReadOnlyList<int> ProcessGroup(int group) =>
        [.. Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(name => int.TryParse(name, out var pid) ? pid : 0).Where(pid => pid > 0)
            .Where(pid => { try { return File.ReadAllText($"/proc/{pid}/stat").Split(") ")[1].Split(' ')[2] == group.ToString(System.Globalization.CultureInfo.InvariantCulture); } catch (IOException) { return false; } })];

    private static string Describe(int pid)
    {
        try { return File.ReadAllText($"/proc/{pid}/stat").Trim() + " " + File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' '); }
        catch (IOException) { return $"{pid} (gone)"; }
    }

    [Fact]
    public async Task Should_print_the_runbooks_two_lines_and_serve_the_api()
    {
        var status = await CtlAsync("status");

        Assert.Equal(0, status.ExitCode);
        var lines = status.Stdout.TrimEnd('\n').Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.Matches(ApiRunning(), lines[0]);
        Assert.Matches(@"^reminder_worker +RUNNING +pid \d+, uptime \d+:\d\d:\d\d$", lines[1]);
        Assert.Equal(33, lines[0].IndexOf("RUNNING", StringComparison.Ordinal)); // supervisorctl's columns
        await Eventually.HoldsAsync(async () => await ApiWorkerAsync() is not null, Wait, "the API answers HTTP");
        // Said once at start: the CRM's [program:reminder_worker] runs the built-in program, not the old Python worker.
        Assert.Single(Regex.Matches(_host.Output, @"\[program:reminder_worker\]: the built-in reminder_worker runs with this section's supervision keys \(autostart=true, autorestart=true, startsecs=10, startretries=3, stopwaitsecs=10\); its command \(python -m workers.reminder_worker\) is not run"));
        var pid = int.Parse(ApiRunning().Match(status.Stdout).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal($"{pid}\n", (await CtlAsync("pid", "api")).Stdout);
        Assert.Contains("Uvicorn running on", (await CtlAsync("tail", "api", "stderr")).Stdout);
        Assert.Contains("GET /health HTTP/1.1", await File.ReadAllTextAsync(Path.Combine(_app, "logs", "api.log")));
    }

    [Fact]
    public async Task Should_bring_the_api_back_after_a_kill_9_with_nothing_of_the_old_group_left()
    {
        await Eventually.HoldsAsync(async () => await ApiWorkerAsync() is not null, Wait, "the API answers HTTP");
        var oldWorker = (await ApiWorkerAsync())!.Value;
        var uvicorn = int.Parse(ApiRunning().Match((await CtlAsync("status", "api")).Stdout).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var killed = Stopwatch.StartNew();

        Process.GetProcessById(uvicorn).Kill(); // SIGKILL: its --reload worker is left, holding the port

        // supervisord leaves the orphan worker answering and api FATAL on "Address already in use"; here the group goes.
        await Eventually.HoldsAsync(async () => await ApiWorkerAsync() is { } worker && worker != oldWorker, Wait,
            "a new worker answers", () => _host.Output);
        var answered = killed.Elapsed;
        var events = (await CtlAsync("events", "api")).Stdout;
        Assert.Contains("api RUNNING -> EXITED exited: terminated by SIGKILL; not expected", events);
        Assert.Contains("api EXITED -> STARTING autorestart", events);
        await Eventually.HoldsAsync(async () => ApiRunning().IsMatch((await CtlAsync("status", "api")).Stdout), Wait, "api RUNNING again");
        await Eventually.HoldsAsync(() => Task.FromResult(ProcessGroup(uvicorn).Count == 0), Wait, "nothing of the old process group left, zombies reaped");
        Console.WriteLine($"kill -9 of uvicorn: a new worker answered HTTP after {answered.TotalSeconds:0.00} s");
    }

    [Fact]
    public async Task Should_signal_the_api_and_stop_everything_on_sigterm_with_exit_0()
    {
        var uvicorn = int.Parse(ApiRunning().Match((await CtlAsync("status", "api")).Stdout).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((0, "api: signalled\n", ""), await CtlAsync("signal", "CONT", "api"));
        Assert.Equal((1, "api: ERROR (bad signal name)\n", ""), await CtlAsync("signal", "BOGUS", "api"));
        Assert.Equal((1, "nosuch: ERROR (no such process)\n", ""), await CtlAsync("signal", "HUP", "nosuch"));
        Assert.Equal((0, "api: stopped\n", ""), await CtlAsync("stop", "api"));
        await Eventually.HoldsAsync(() => Task.FromResult(ProcessGroup(uvicorn).Count == 0), Wait, "a stop leaves nothing of the group");
        Assert.Equal((7, "0\n", ""), await CtlAsync("pid", "api"));
        Assert.Equal((7, "api: ERROR (not running)\n", ""), await CtlAsync("signal", "HUP", "api"));
        Assert.Equal(0, (await CtlAsync("start", "api")).ExitCode);
        var restarted = int.Parse(ApiRunning().Match((await CtlAsync("status", "api")).Stdout).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        var stopping = Stopwatch.StartNew();
        await _host.TerminateAsync();
        Assert.Equal(0, await _host.WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(20), $"stopped in {stopping.Elapsed}"); // within stopwaitsecs (10 s) and the margin
        Assert.True(ProcessGroup(restarted).Count == 0, "left: " + string.Join("; ", ProcessGroup(restarted).Select(Describe)));
        Assert.Contains("api STOPPING -> STOPPED", _host.Output);
        Assert.Contains("reminder_worker STOPPING -> STOPPED", _host.Output);
    }
}
