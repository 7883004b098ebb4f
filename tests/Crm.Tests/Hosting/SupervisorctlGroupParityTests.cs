using System.Diagnostics;
using System.Text.RegularExpressions;
using Crm.Tests.Support;

namespace Crm.Tests.Hosting;

/// <summary>
/// SPEC §8: a clustered program is a process group with one process per node, and crmctl answers for it as
/// supervisorctl does. Debian's supervisord 4.2.5 runs the same group here (<c>[group:reminder_worker]</c> with
/// programs crmnode-a and crmnode-b) and both are asked the same commands, in the same order, from the same states:
/// every line and exit code must match (pids, uptimes and stop dates aside; a group's lines in completion order,
/// which supervisorctl does not fix either: docs/supervisorctl-groups.md). crmctl asks the node that does not run
/// what it names where it can. The bare group name is left out: SPEC §8 makes it the group, where supervisorctl
/// answers "no such process".
/// </summary>
[Trait("Category", "Integration")]
public partial class SupervisorctlGroupParityTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly string[][] Cases =
    [
        ["status"],
        ["status", "reminder_worker:*"],
        ["status", "reminder_worker:crmnode-a"],
        ["status", "reminder_worker:nosuch"],
        ["status", "nosuch:*"],
        ["status", "reminder_worker:crmnode-b", "nosuch", "reminder_worker:crmnode-a"],
        ["stop", "reminder_worker:crmnode-a"],
        ["stop", "reminder_worker:crmnode-a"],
        ["status"],
        ["status", "nosuch", "reminder_worker:crmnode-a"],
        ["stop", "reminder_worker:*"],
        ["stop", "reminder_worker:*"],
        ["status", "reminder_worker:*"],
        ["start", "reminder_worker:crmnode-b"],
        ["start", "reminder_worker:crmnode-b"],
        ["start", "reminder_worker:*"],
        ["start", "reminder_worker:*"],
        ["stop", "reminder_worker:nosuch"],
        ["stop", "nosuch:*"],
        ["start", "nosuch:*"],
        ["start", "reminder_worker:nosuch"],
        ["stop", "reminder_worker:crmnode-b", "reminder_worker:nosuch", "reminder_worker:crmnode-a"],
        ["start", "reminder_worker:crmnode-a", "reminder_worker:nosuch", "reminder_worker:crmnode-b"],
        ["restart", "reminder_worker:*"],
        ["restart", "reminder_worker:crmnode-b"],
        ["stop", "reminder_worker:crmnode-a"],
        ["restart", "reminder_worker:crmnode-a"],
        ["restart", "nosuch:*"],
        ["status"],
    ];

    [Fact]
    public async Task Should_answer_each_group_command_with_supervisorctls_lines_and_exit_codes()
    {
        await using var supervisord = await Supervisord.StartAsync();
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var nodes = CrmNodes.Start(db, 2, clustered: true);
        await nodes.AllUpAsync("2 nodes up");
        var (a, b) = (nodes.All[0], nodes.All[1]);

        var mismatches = new List<string>();
        foreach (var args in Cases)
        {
            var expected = await supervisord.CtlAsync(args);
            // Ask the node that does not run the first process named (crmnode-a's from b, the others from a).
            var asked = args.Skip(1).FirstOrDefault() == "reminder_worker:crmnode-a" ? b : a;
            var actual = await asked.CtlAsync(args);
            var line = $"{string.Join(' ', args)}: supervisorctl exit {expected.ExitCode} [{Shown(expected.Stdout)}], crmctl exit {actual.ExitCode} [{Shown(actual.Stdout)}]";
            output.WriteLine(line);
            if (expected.ExitCode != actual.ExitCode || Normalised(args, expected.Stdout) != Normalised(args, actual.Stdout)
                || actual.Stderr.Length > 0 || expected.Stderr.Length > 0)
                mismatches.Add(line + (actual.Stderr.Length > 0 ? $" crmctl stderr [{Shown(actual.Stderr)}]" : ""));
        }
        Assert.True(mismatches.Count == 0, string.Join('\n', mismatches));
    }

    private static string Shown(string text) => text.TrimEnd('\n').Replace("\n", " | ", StringComparison.Ordinal);

    /// <summary>Pids, uptimes and stop dates blanked; a group command's lines (one name, NAME:*) in name order.</summary>
    private static string Normalised(string[] args, string stdout)
    {
        var text = Pid().Replace(stdout, "pid N, uptime T");
        text = StopDate().Replace(text, "STOP-DATE");
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (args.Length == 2 && args[1].EndsWith(":*", StringComparison.Ordinal))
        {
            // restart is stop then start: each half in name order, the halves in their order
            var stops = lines.Where(l => l.EndsWith(": stopped", StringComparison.Ordinal)).Order(StringComparer.Ordinal);
            lines = [.. stops, .. lines.Where(l => !l.EndsWith(": stopped", StringComparison.Ordinal)).Order(StringComparer.Ordinal)];
        }
        return string.Join('\n', lines);
    }

    [GeneratedRegex(@"pid \d+, uptime [0-9:]+")]
    private static partial Regex Pid();

    [GeneratedRegex(@"[A-Z][a-z]{2} \d\d \d\d:\d\d [AP]M")]
    private static partial Regex StopDate();

    /// <summary>Debian's supervisord with the group, in a folder of its own, stopped (with its children) at the end.</summary>
    private sealed class Supervisord : IAsyncDisposable
    {
        private readonly string _dir;
        private readonly Process _process;
        private string Conf => Path.Combine(_dir, "supervisord.conf");

        private Supervisord(string dir, Process process) => (_dir, _process) = (dir, process);

        public static async Task<Supervisord> StartAsync()
        {
            var dir = Directory.CreateTempSubdirectory("crm-supervisord-").FullName;
            var program = "command=sleep 100000\nstartsecs=1\nstopwaitsecs=5\n";
            File.WriteAllText(Path.Combine(dir, "supervisord.conf"), $"""
                [unix_http_server]
                file={dir}/supervisor.sock

                [supervisord]
                nodaemon=true
                logfile={dir}/supervisord.log
                pidfile={dir}/supervisord.pid
                childlogdir={dir}

                [rpcinterface:supervisor]
                supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

                [supervisorctl]
                serverurl=unix://{dir}/supervisor.sock

                [group:reminder_worker]
                programs=crmnode-a,crmnode-b

                [program:crmnode-a]
                {program}
                [program:crmnode-b]
                {program}
                """);
            var info = new ProcessStartInfo("supervisord", ["-c", Path.Combine(dir, "supervisord.conf")])
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            var supervisord = new Supervisord(dir, Process.Start(info) ?? throw new InvalidOperationException("supervisord did not start"));
            supervisord._process.OutputDataReceived += (_, _) => { };
            supervisord._process.ErrorDataReceived += (_, _) => { };
            supervisord._process.BeginOutputReadLine();
            supervisord._process.BeginErrorReadLine();
            await Eventually.HoldsAsync(async () => await supervisord.CtlAsync("status") is { ExitCode: 0 } status
                    && status.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Count(l => l.Contains(" RUNNING ", StringComparison.Ordinal)) == 2,
                TimeSpan.FromSeconds(60), "supervisord's group RUNNING", () => File.Exists(Path.Combine(dir, "supervisord.log")) ? File.ReadAllText(Path.Combine(dir, "supervisord.log")) : "");
            return supervisord;
        }

        public Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args) =>
            HostProcess.RunAsync(new ProcessStartInfo("supervisorctl", ["-c", Conf, .. args]));

        /// <summary>supervisorctl shutdown stops the group and supervisord; failing that, the whole tree is killed.</summary>
        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited) await CtlAsync("shutdown");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try { await _process.WaitForExitAsync(cts.Token); }
            catch (OperationCanceledException) { _process.Kill(entireProcessTree: true); }
            _process.Dispose();
        }
    }
}
