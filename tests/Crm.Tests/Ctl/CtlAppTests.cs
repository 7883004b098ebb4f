using Crm.Ctl;
using static Crm.Tests.Ctl.FakeAdminServer;

namespace Crm.Tests.Ctl;

/// <summary>The real crmctl entry point, in-process, against <see cref="FakeAdminServer"/>.</summary>
public class CtlAppTests
{
    private const string Running = """{"name":"reminder_worker","state":"RUNNING","description":"pid 7, uptime 0:06:34","pid":7,"since":"2026-11-28T13:00:00Z","lastError":null}""";
    private const string Api = """{"name":"api","state":"RUNNING","description":"pid 6, uptime 0:06:34","pid":6,"since":"2026-11-28T13:00:00Z","lastError":null}""";
    private const string Fatal = """{"name":"reminder_worker","state":"FATAL","description":"Exited too quickly (process log may have details)","pid":7,"since":"2026-11-28T13:00:00Z","lastError":"boom"}""";
    private const string NoSuchProcess = """{"error":"no such process"}""";

    private static readonly IReadOnlyDictionary<string, string?> NoEnvironment = new Dictionary<string, string?>();

    private sealed record Run(int ExitCode, string Stdout, string Stderr);

    private static async Task<Run> RunAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        var exitCode = await CtlApp.RunAsync(args, stdout, stderr, environment);
        return new Run(exitCode, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Should_print_one_status_line_per_program_and_exit_0_when_all_are_running()
    {
        await using var host = new FakeAdminServer(r => Response.Json($"[{Api},{Running}]"));

        var run = await RunAsync(host.Environment(), "status");

        Assert.Equal(new Run(0,
            "api                              RUNNING   pid 6, uptime 0:06:34\n" +
            "reminder_worker                  RUNNING   pid 7, uptime 0:06:34\n", ""), run);
        Assert.Equal(["GET /api/programs"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Fact]
    public async Task Should_exit_3_when_a_listed_program_is_fatal()
    {
        await using var host = new FakeAdminServer(r => Response.Json($"[{Fatal}]"));

        var run = await RunAsync(host.Environment(), "status", "reminder_worker");

        Assert.Equal(new Run(3, "reminder_worker                  FATAL     Exited too quickly (process log may have details)\n", ""), run);
        Assert.Equal(["GET /api/programs?name=reminder_worker"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Fact]
    public async Task Should_print_no_such_process_and_exit_4_for_an_unknown_name()
    {
        await using var host = new FakeAdminServer(r => r.Target.EndsWith("=reminder_worker") ? Response.Json($"[{Running}]") : new Response(404, NoSuchProcess));

        var run = await RunAsync(host.Environment(), "status", "nope", "reminder_worker");

        Assert.Equal(new Run(4, "nope: ERROR (no such process)\nreminder_worker                  RUNNING   pid 7, uptime 0:06:34\n", ""), run);
    }

    [Fact]
    public async Task Should_exit_4_with_the_reason_when_the_host_refuses_the_connection()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var run = await RunAsync(new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = url }, "status");

        Assert.Equal(4, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.StartsWith($"crmctl: cannot reach {url}: ", run.Stderr);
        Assert.Contains("refused", run.Stderr);
    }

    [Fact]
    public async Task Should_send_the_token_as_a_bearer_header_only_when_it_is_set()
    {
        await using var host = new FakeAdminServer(r => Response.Json($"[{Running}]"));

        await RunAsync(host.Environment(token: "s3cret"), "status");
        await RunAsync(host.Environment(token: null), "status");

        Assert.Equal(["Bearer s3cret", null], host.Requests.Select(r => r.Authorization));
    }

    [Theory]
    [InlineData(401, "a valid bearer token is required")]
    [InlineData(403, "refused: the admin listener is bound beyond loopback and the host has no CRM_ADMIN_TOKEN")]
    public async Task Should_exit_1_with_the_hosts_reason_when_it_refuses_the_call(int status, string error)
    {
        await using var host = new FakeAdminServer(r => new Response(status, $$"""{"error":"{{error}}"}"""));

        var run = await RunAsync(host.Environment(), "stop", "reminder_worker");

        Assert.Equal(new Run(1, "", $"crmctl: {error} (set CRM_ADMIN_TOKEN)\n"), run);
        Assert.Equal(["POST /api/programs/reminder_worker/stop"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Theory]
    [InlineData("start", true, "started", 0)]
    [InlineData("start", false, "already started", 0)]
    [InlineData("stop", true, "stopped", 0)]
    [InlineData("stop", false, "not running", 0)]
    [InlineData("start", false, "spawn error", 7)]
    [InlineData("start", false, "abnormal termination", 7)]
    [InlineData("start", false, "stopping", 1)]
    public async Task Should_print_the_hosts_line_and_exit_as_supervisorctl_4_2_5_does(string verb, bool ok, string message, int exitCode)
    {
        var line = ok ? $"reminder_worker: {message}" : $"reminder_worker: ERROR ({message})";
        await using var host = new FakeAdminServer(r =>
            Response.Json($$"""{"program":"reminder_worker","ok":{{(ok ? "true" : "false")}},"message":"{{message}}","line":"{{line}}"}"""));

        var run = await RunAsync(host.Environment(), verb, "reminder_worker");

        Assert.Equal(new Run(exitCode, line + "\n", ""), run);
        Assert.Equal([$"POST /api/programs/reminder_worker/{verb}"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Fact]
    public async Task Should_print_each_step_of_a_restart_and_the_reason_of_a_spawn_error_on_stderr()
    {
        await using var host = new FakeAdminServer(r => Response.Json("""
            {"program":"reminder_worker","ok":false,"message":"spawn error","detail":"reminder_worker could not start: boom","line":"reminder_worker: ERROR (spawn error)",
             "steps":[{"ok":true,"message":"stopped","detail":null,"line":"reminder_worker: stopped"},
                      {"ok":false,"message":"spawn error","detail":"reminder_worker could not start: boom","line":"reminder_worker: ERROR (spawn error)"}]}
            """));

        var run = await RunAsync(host.Environment(), "restart", "reminder_worker");

        Assert.Equal(new Run(7, "reminder_worker: stopped\nreminder_worker: ERROR (spawn error)\n", "reminder_worker could not start: boom\n"), run);
    }

    [Fact]
    public async Task Should_exit_1_when_a_command_names_an_unknown_program_and_4_when_a_read_does()
    {
        await using var host = new FakeAdminServer(r => new Response(404, NoSuchProcess));

        Assert.Equal(new Run(1, "nope: ERROR (no such process)\n", ""), await RunAsync(host.Environment(), "start", "nope"));
        Assert.Equal(new Run(1, "nope: ERROR (no such process)\n", ""), await RunAsync(host.Environment(), "stop", "nope"));
        Assert.Equal(new Run(1, "nope: ERROR (no such process)\nnope: ERROR (no such process)\n", ""), await RunAsync(host.Environment(), "restart", "nope"));
        Assert.Equal(new Run(4, "nope: ERROR (no such process)\n", ""), await RunAsync(host.Environment(), "events", "nope"));
        Assert.Equal(new Run(4, "nope: ERROR (no such process)\n", ""), await RunAsync(host.Environment(), "tail", "nope"));
    }

    [Fact]
    public async Task Should_print_the_last_1600_bytes_of_a_log_without_follow()
    {
        await using var host = new FakeAdminServer(r => Response.Json("""{"offset":42,"text":"line 1\nline 2\n"}"""));

        var run = await RunAsync(host.Environment(), "tail", "reminder_worker", "stderr");

        Assert.Equal(new Run(0, "line 1\nline 2\n", ""), run);
        Assert.Equal(["GET /api/logs/reminder_worker?stream=stderr&tail=1600"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Fact]
    public async Task Should_follow_a_log_from_the_offset_the_host_returns_until_ctrl_c()
    {
        using var ctrlC = new CancellationTokenSource();
        var reads = 0;
        await using var host = new FakeAdminServer(r => Interlocked.Increment(ref reads) switch
        {
            1 => Response.Json("""{"offset":4,"text":"one\n"}"""),
            2 => Response.Json("""{"offset":4,"text":""}"""),
            3 => Response.Json("""{"offset":8,"text":"two\n"}"""),
            _ => Cancel(ctrlC, Response.Json("""{"offset":8,"text":""}""")),
        });
        var (stdout, stderr) = (new StringWriter(), new StringWriter());

        var exitCode = await CtlApp.RunAsync(["tail", "-f", "reminder_worker", "stderr"], stdout, stderr, host.Environment(), ctrlC.Token);

        Assert.Equal((0, "one\ntwo\n", ""), (exitCode, stdout.ToString(), stderr.ToString()));
        Assert.Equal([
            "/api/logs/reminder_worker?stream=stderr&tail=1600",
            "/api/logs/reminder_worker?stream=stderr&offset=4",
            "/api/logs/reminder_worker?stream=stderr&offset=4",
            "/api/logs/reminder_worker?stream=stderr&offset=8",
        ], host.Requests.Select(r => r.Target));
    }

    private static Response Cancel(CancellationTokenSource ctrlC, Response response)
    {
        ctrlC.Cancel();
        return response;
    }

    [Fact]
    public async Task Should_be_healthy_only_when_the_host_is_ready_and_its_programs_are()
    {
        const string sick = """{"status":"Unhealthy","checks":{"worker":{"status":"Unhealthy","description":"reminder_worker is not RUNNING"}}}""";
        await using var healthy = new FakeAdminServer(r => Response.Json("""{"status":"Healthy"}"""));
        await using var workerDown = new FakeAdminServer(r => r.Target == "/health/programs" ? new Response(503, sick) : Response.Json("""{"status":"Healthy"}"""));

        Assert.Equal(new Run(0, "healthy\n", ""), await RunAsync(healthy.Environment(), "health"));
        Assert.Equal(["GET /health/programs", "GET /health/ready"], healthy.Requests.Select(r => $"{r.Method} {r.Target}").Order());
        Assert.Equal(new Run(1, $"unhealthy: {sick}\n", ""), await RunAsync(workerDown.Environment(), "health"));
        Assert.Equal(4, (await RunAsync(new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = $"http://127.0.0.1:{ClosedPort()}" }, "health")).ExitCode);
    }

    [Fact]
    public async Task Should_run_a_program_verb_printing_the_hosts_lines_and_exiting_with_its_code()
    {
        await using var done = new FakeAdminServer(r => Response.Json("""{"exitCode":0,"lines":["scan: 12 found, 12 notified, 0 skipped (35 ms)"],"data":{}}"""));
        await using var failed = new FakeAdminServer(r => Response.Json("""{"exitCode":1,"lines":["scan: ERROR (database unreachable)"]}"""));
        await using var none = new FakeAdminServer(r => new Response(404, ""));

        Assert.Equal(new Run(0, "scan: 12 found, 12 notified, 0 skipped (35 ms)\n", ""), await RunAsync(done.Environment(), "scan-now"));
        Assert.Equal(["POST /api/scan-now"], done.Requests.Select(r => $"{r.Method} {r.Target}"));
        Assert.Equal(new Run(1, "scan: ERROR (database unreachable)\n", ""), await RunAsync(failed.Environment(), "scan-now"));
        var unknown = await RunAsync(none.Environment(), "frobnicate");
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("crmctl: unknown command: frobnicate", unknown.Stderr);
    }

    [Fact]
    public async Task Should_list_the_programs_verbs_after_the_usage_and_the_usage_alone_when_the_host_is_away()
    {
        await using var host = new FakeAdminServer(r => Response.Json("""[{"name":"scan-now","program":"reminder_worker","usage":"one reminder scan, now"}]"""));

        var help = await RunAsync(host.Environment(), "help");
        Assert.Equal(0, help.ExitCode);
        Assert.StartsWith(CtlCommand.Usage, help.Stdout);
        Assert.EndsWith("commands of the host's programs:\n  scan-now                         one reminder scan, now (reminder_worker)\n", help.Stdout);
        var away = await RunAsync(new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = $"http://127.0.0.1:{ClosedPort()}" }, "help");
        Assert.Equal(0, away.ExitCode);
        Assert.StartsWith(CtlCommand.Usage, away.Stdout);
        Assert.Contains("the host does not answer", away.Stdout);
    }

    [Fact]
    public async Task Should_print_what_reread_found_and_what_update_did()
    {
        await using var host = new FakeAdminServer(r => r.Target switch
        {
            "/api/reread" => Response.Json("""{"changed":["reminder_worker"],"added":[],"removed":["api"]}"""),
            _ => Response.Json("""{"restarted":["reminder_worker"],"lines":["reminder_worker: stopped","reminder_worker: updated process group"]}"""),
        });

        Assert.Equal(new Run(0, "reminder_worker: changed\napi: disappeared\n", ""), await RunAsync(host.Environment(), "reread"));
        Assert.Equal(new Run(0, "reminder_worker: stopped\nreminder_worker: updated process group\n", ""), await RunAsync(host.Environment(), "update"));
        Assert.Equal(["POST /api/reread", "POST /api/update"], host.Requests.Select(r => $"{r.Method} {r.Target}"));
    }

    [Fact]
    public async Task Should_exit_1_with_the_hosts_message_when_reread_finds_a_broken_configuration()
    {
        await using var host = new FakeAdminServer(r => new Response(400, """{"error":"crm.conf: line 3: unknown key"}"""));

        Assert.Equal(new Run(1, "", "crmctl: ERROR (crm.conf: line 3: unknown key)\n"), await RunAsync(host.Environment(), "reread"));
    }

    [Fact]
    public async Task Should_print_pid_events_actors_and_log_lines_as_the_host_gives_them()
    {
        await using var host = new FakeAdminServer(r => r.Target switch
        {
            "/api/pid" => Response.Json("""{"pid":1234}"""),
            "/api/events?program=reminder_worker" => Response.Json("""
                [{"at":"2026-11-28T13:00:00.000Z","program":"reminder_worker","from":"STARTING","to":"RUNNING","description":"started: alive for 10s",
                  "line":"2026-11-28T13:00:00.000Z reminder_worker STARTING -> RUNNING started: alive for 10s"}]
                """),
            "/api/actors" => Response.Text("/user\n/user/supervisor\n"),
            "/api/logs/peek?lines=2" => Response.Text("a\nb"),
            _ => new Response(404, ""),
        });
        var environment = host.Environment();

        Assert.Equal(new Run(0, "1234\n", ""), await RunAsync(environment, "pid"));
        Assert.Equal(new Run(0, "2026-11-28T13:00:00.000Z reminder_worker STARTING -> RUNNING started: alive for 10s\n", ""),
            await RunAsync(environment, "events", "reminder_worker"));
        Assert.Equal(new Run(0, "/user\n/user/supervisor\n", ""), await RunAsync(environment, "actor", "hierarchy"));
        Assert.Equal(new Run(0, "a\nb\n", ""), await RunAsync(environment, "log", "peek", "2"));
    }

    [Fact]
    public async Task Should_exit_1_when_the_answer_is_not_the_documented_json()
    {
        await using var host = new FakeAdminServer(r => Response.Text("<html>not the admin API</html>"));

        var run = await RunAsync(host.Environment(), "status");

        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith($"crmctl: unexpected answer from {host.Url}: api/programs: ", run.Stderr);
    }

    [Fact]
    public async Task Should_exit_2_with_the_usage_on_stderr_for_bad_usage()
    {
        var run = await RunAsync(NoEnvironment, "tail", "reminder_worker", "sideways");

        Assert.Equal(2, run.ExitCode);
        Assert.Equal("", run.Stdout);
        Assert.StartsWith("crmctl: tail: the log is stdout or stderr, not sideways\nusage: crmctl COMMAND [ARGS]", run.Stderr);
        Assert.Equal(2, (await RunAsync(NoEnvironment)).ExitCode);
    }

    [Fact]
    public async Task Should_print_the_usage_on_stdout_for_help()
    {
        var run = await RunAsync(NoEnvironment, "help");

        Assert.Equal((0, ""), (run.ExitCode, run.Stderr));
        Assert.StartsWith("usage: crmctl COMMAND [ARGS]", run.Stdout);
    }

    [Fact]
    public async Task Should_exit_2_when_the_admin_url_is_not_an_http_url()
    {
        var run = await RunAsync(new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = "127.0.0.1:9110" }, "status");

        Assert.Equal(new Run(2, "", "crmctl: CRM_ADMIN_URL is not an http:// or https:// URL: 127.0.0.1:9110\n"), run);
    }
}
