using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Crm.Actors.Processes;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using Xunit.Abstractions;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Processes;

/// <summary>
/// The CRM's own [program:api] (tests/fixtures/crm_supervisord.conf, its /app moved to a temporary folder) running a
/// small FastAPI app with Debian's uvicorn, --reload and all. supervisord 4.2.5 on the same file: a kill -9 of the
/// uvicorn pid leaves its --reload worker holding the port, every restart meets "Address already in use", FATAL.
/// </summary>
[Trait("Category", "Integration")]
public sealed class UvicornProgramTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _output;

    public UvicornProgramTests(ITestOutputHelper output) : base(output: output) => _output = output;

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<string?> GetAsync(int port)
    {
        try { return await Http.GetStringAsync($"http://127.0.0.1:{port}/health"); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { return null; }
    }

    [Fact]
    public async Task Should_bring_uvicorn_back_after_a_kill_9_and_leave_nothing_of_its_group_after_a_stop()
    {
        if (!File.Exists("/usr/bin/uvicorn")) Assert.Fail("Debian's uvicorn is missing: apt-get install uvicorn python3-uvicorn python3-fastapi (test.sh does)");
        var app = Directory.CreateTempSubdirectory("crm-uvicorn-").FullName;
        Directory.CreateDirectory(Path.Combine(app, "logs"));
        File.WriteAllText(Path.Combine(app, "main.py"), """
            import os
            from fastapi import FastAPI

            app = FastAPI()

            @app.get("/health")
            def health():
                return {"status": "ok", "pid": os.getpid()}
            """);
        var port = FreePort();
        var text = File.ReadAllText(SupervisordConfigTests.CrmConfPath()).Replace("/app", app);
        var environment = new Dictionary<string, string>(ProcessProgramSettings.CurrentEnvironment()) { ["API_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var config = SupervisordConfig.Parse(text, Path.Combine(app, "supervisord.conf"),
            new SupervisordReadOptions(environment, Environment.UserName, Libc.GetEffectiveUserId(), ProgramSettings.Default));
        var api = config.Program("api")!;
        Assert.Equal($"uvicorn main:app --host 0.0.0.0 --port {port} --reload --reload-delay 2", api.Process.Command);

        var transitions = CreateTestProbe();
        Sys.EventStream.Subscribe(transitions, typeof(ProgramTransition));
        var root = Sys.ActorOf(RootSupervisor.Props([ProcessProgram.Define(api)], durable: false));
        async Task<ProgramState> NextAsync() => (await transitions.ExpectMsgAsync<ProgramTransition>(Wait)).To;
        Assert.Equal([Starting, Running], new[] { await NextAsync(), await NextAsync() });
        await Eventually.HoldsAsync(async () => await GetAsync(port) is not null, Wait, "uvicorn answering");

        var first = await root.StatusOfAsync("api", Wait);
        Assert.StartsWith("uvicorn", ProcessTable.Get(first.Pid)?.Command);
        await Eventually.HoldsAsync(() => Task.FromResult(ProcessTable.LiveMembers(first.Pid).Count >= 2), Wait, "uvicorn's --reload worker in its group");
        var firstGroup = ProcessTable.LiveMembers(first.Pid).Select(p => p.Pid).ToList();

        var clock = Stopwatch.StartNew();
        Assert.True(Libc.Kill(first.Pid, 9));
        var exit = await transitions.ExpectMsgAsync<ProgramTransition>(Wait);
        var exited = clock.Elapsed;
        Assert.Equal((Exited, "exited: terminated by SIGKILL; not expected"), (exit.To, exit.Description));
        Assert.All(firstGroup, pid => Assert.False(ProcessTable.IsAlive(pid), $"{pid} of the killed uvicorn's group still alive"));
        Assert.Equal(Starting, await NextAsync());
        await Eventually.HoldsAsync(async () => await GetAsync(port) is not null, Wait, "the restarted uvicorn answering");
        var answering = clock.Elapsed;
        Assert.Equal(Running, await NextAsync());
        var second = await root.StatusOfAsync("api", Wait);
        Assert.NotEqual(first.Pid, second.Pid);
        _output.WriteLine($"kill -9 of uvicorn (pid {first.Pid}, group {string.Join(",", firstGroup)}) -> EXITED after {exited.TotalMilliseconds:0} ms, " +
            $"answering HTTP again after {answering.TotalMilliseconds:0} ms (pid {second.Pid})");

        var secondGroup = ProcessTable.LiveMembers(second.Pid).Select(p => p.Pid).ToList();
        Assert.Equal("api: stopped", (await root.Ask<CommandResult>(new StopProgram("api"), Wait)).Lines.Single());
        Assert.Empty(ProcessTable.LiveMembers(second.Pid));
        Assert.All(secondGroup, pid => Assert.False(ProcessTable.IsAlive(pid)));
        Assert.Null(await GetAsync(port));
        Assert.Contains("Uvicorn running on", File.ReadAllText(Path.Combine(app, "logs", "api_error.log")));
    }
}
