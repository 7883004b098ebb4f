using System.Diagnostics;
using Akka.Actor;
using Crm.Actors.Processes;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Processes;

/// <summary>
/// Process programs under the real root supervisor, with real children (/bin/sh, python3): each test's program is a
/// [program:x] section read by <see cref="SupervisordConfig"/>, with supervision times cut to milliseconds.
/// </summary>
[Trait("Category", "Integration")]
public sealed class ProcessProgramTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    internal const string Python = "/usr/bin/python3";

    private static readonly ProgramSettings Fast = ProgramSettings.Default with
    {
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private readonly string _folder = Directory.CreateTempSubdirectory("crm-process-").FullName;
    private readonly Akka.TestKit.TestProbe _transitions;
    private readonly List<int> _groups = [];

    public ProcessProgramTests()
    {
        _transitions = CreateTestProbe();
        Sys.EventStream.Subscribe(_transitions, typeof(ProgramTransition));
    }

    /// <summary>A [program:NAME] section as supervisord reads it; startsecs in milliseconds.</summary>
    private ProgramDefinition Program(string section, TimeSpan? startSecs = null, TimeSpan? stopWait = null)
    {
        var options = SupervisordConfigTests.Options(environment: ProcessProgramSettings.CurrentEnvironment()) with { Basis = Fast };
        var program = SupervisordConfig.Parse(section, Path.Combine(_folder, "supervisord.conf"), options).Programs.Single();
        var supervision = program.Supervision with
        {
            StartSecs = startSecs ?? TimeSpan.FromMilliseconds(300),
            StopWaitSecs = stopWait ?? program.Supervision.StopWaitSecs,
        };
        return ProcessProgram.Define(program.Process, supervision);
    }

    private IActorRef Root(ProgramDefinition program) => Sys.ActorOf(RootSupervisor.Props([program], durable: false));

    private async Task<List<ProgramState>> StatesAsync(int count)
    {
        var states = new List<ProgramState>();
        for (var i = 0; i < count; i++) states.Add((await _transitions.ExpectMsgAsync<ProgramTransition>(Wait)).To);
        return states;
    }

    private static async Task<ProgramInfo> StatusAsync(IActorRef root, string name) => await root.StatusOfAsync(name, Wait);

    private string Script(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, "#!/bin/sh\n" + text + "\n");
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    private static async Task<int> PidFromAsync(string file)
    {
        await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(file) && File.ReadAllText(file).Trim().Length > 0), Wait, $"{file} written");
        return int.Parse(File.ReadAllText(file).Trim(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Task GoneAsync(int pid, string what) =>
        Eventually.HoldsAsync(() => Task.FromResult(!ProcessTable.IsAlive(pid)), Wait, what);

    [Fact]
    public async Task Should_enter_FATAL_after_startretries_when_the_child_exits_at_once()
    {
        // supervisord 4.2.5 on the same section: three "exited: quick (exit status 0; not expected)", then FATAL.
        // startsecs long enough for a loaded machine to run the shell to its end: each start fails by the exit.
        var root = Root(Program("[program:quick]\ncommand=/bin/sh -c \"exit 0\"\nstartretries=2\n", startSecs: TimeSpan.FromSeconds(5)));

        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], await StatesAsync(6));
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        var status = await StatusAsync(root, "quick");
        Assert.Equal((Fatal, 3, 0), (status.State, status.FailedStarts, status.Pid));
        Assert.Equal("exit status 0; not expected", status.LastError);
    }

    [Fact]
    public async Task Should_fail_a_start_with_supervisords_words_when_the_command_cannot_be_found()
    {
        var root = Root(Program("[program:nothing]\ncommand=no-such-command-crm --flag\nstartretries=0\n"));

        Assert.Equal([Starting, Fatal], await StatesAsync(2));
        Assert.Equal("can't find command 'no-such-command-crm'", (await StatusAsync(root, "nothing")).LastError);
    }

    [Fact]
    public async Task Should_leave_an_expected_exit_EXITED_and_restart_an_unexpected_one_with_autorestart_unexpected()
    {
        var expected = Root(Program("[program:late]\ncommand=/bin/sh -c \"sleep 0.6; exit 3\"\nautorestart=unexpected\nexitcodes=0,3\n"));
        Assert.Equal([Starting, Running, Exited], await StatesAsync(3));
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromSeconds(1));
        var status = await StatusAsync(expected, "late");
        Assert.Equal((Exited, "exit status 3; expected", 0), (status.State, status.LastError, status.Pid));

        Root(Program("[program:unexp]\ncommand=/bin/sh -c \"sleep 0.6; exit 4\"\nautorestart=unexpected\nexitcodes=0,3\n"));
        Assert.Equal([Starting, Running, Exited, Starting], await StatesAsync(4));
    }

    [Fact]
    public async Task Should_report_the_childs_pid_and_spawn_time_and_give_it_a_process_group_of_its_own()
    {
        var before = DateTimeOffset.UtcNow;
        var root = Root(Program("[program:sleeper]\ncommand=/bin/sleep 60\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var status = await StatusAsync(root, "sleeper");
        Assert.NotEqual(Environment.ProcessId, status.Pid);
        var entry = ProcessTable.Get(status.Pid)!;
        Assert.Equal(("sleep", status.Pid, status.Pid), (entry.Command, entry.GroupId, entry.SessionId)); // setsid did not fork: pid == pgid == sid
        Assert.Equal(Environment.ProcessId, entry.ParentPid);
        Assert.InRange(status.SpawnedAt!.Value, before, DateTimeOffset.UtcNow);

        var stopped = await root.Ask<CommandResult>(new StopProgram("sleeper"), Wait);
        Assert.Equal("sleeper: stopped", stopped.Lines.Single());
        Assert.False(ProcessTable.IsAlive(status.Pid));
        Assert.Equal(0, (await StatusAsync(root, "sleeper")).Pid);
    }

    [Fact]
    public async Task Should_kill_a_child_that_ignores_SIGTERM_with_SIGKILL_after_stopwaitsecs()
    {
        var root = Root(Program($"[program:stubborn]\ncommand={Python} -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)\"\n",
            stopWait: TimeSpan.FromSeconds(1)));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var pid = (await StatusAsync(root, "stubborn")).Pid;

        var clock = Stopwatch.StartNew();
        var stopped = await root.Ask<CommandResult>(new StopProgram("stubborn"), Wait);

        Assert.Equal("stubborn: stopped", stopped.Lines.Single());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(5));
        await GoneAsync(pid, "the child killed");
    }

    [Fact]
    public async Task Should_stop_a_grandchild_with_stopasgroup()
    {
        var pidFile = Path.Combine(_folder, "grandchild.pid");
        // The shell ignores TERM: only a signal to the group reaches the grandchild.
        var script = Script("parent.sh", $"trap '' TERM\nsleep 300 &\necho $! > {pidFile}\nwhile :; do sleep 0.1; done");
        var root = Root(Program($"[program:family]\ncommand={script}\nstopasgroup=true\n", stopWait: TimeSpan.FromSeconds(2)));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var grandchild = await PidFromAsync(pidFile);
        var pid = (await StatusAsync(root, "family")).Pid;
        Assert.Equal(pid, ProcessTable.Get(grandchild)!.GroupId);

        Assert.Equal("family: stopped", (await root.Ask<CommandResult>(new StopProgram("family"), Wait)).Lines.Single());

        await GoneAsync(grandchild, "the grandchild stopped with its group");
        await GoneAsync(pid, "the child killed at stopwaitsecs");
        // Killed at stopwaitsecs by the supervisor's hard stop: the kernel may take a moment past STOPPED to end them.
        await Eventually.HoldsAsync(() => Task.FromResult(ProcessTable.LiveMembers(pid).Count == 0), Wait, "nothing of the group alive");
    }

    [Fact]
    public async Task Should_stop_what_the_child_spawned_even_without_stopasgroup()
    {
        var pidFile = Path.Combine(_folder, "grandchild.pid");
        var script = Script("parent.sh", $"sleep 300 &\necho $! > {pidFile}\nwait");
        var root = Root(Program($"[program:family]\ncommand={script}\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var grandchild = await PidFromAsync(pidFile);

        // supervisord leaves the sleep running here (only the shell gets TERM); nothing of a program outlives its stop.
        Assert.Equal("family: stopped", (await root.Ask<CommandResult>(new StopProgram("family"), Wait)).Lines.Single());
        Assert.False(ProcessTable.IsAlive(grandchild));
    }

    [Fact]
    public async Task Should_end_what_a_dead_child_spawned_before_it_is_restarted()
    {
        var pidFile = Path.Combine(_folder, "grandchild.pid");
        var script = Script("dies.sh", $"sleep 300 &\necho $! >> {pidFile}\nsleep 0.8\nexit 1");
        var root = Root(Program($"[program:dies]\ncommand={script}\nautorestart=true\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        var grandchild = await PidFromAsync(pidFile);

        var exited = await _transitions.ExpectMsgAsync<ProgramTransition>(Wait);
        Assert.Equal((Exited, "exited: exit status 1; not expected"), (exited.To, exited.Description));
        // The exit is news only once the group is gone: the restart finds its port free.
        Assert.False(ProcessTable.IsAlive(grandchild));
        Assert.Equal(Starting, (await _transitions.ExpectMsgAsync<ProgramTransition>(Wait)).To);
        Assert.Equal("family stopped", await StopAllAsync(root, "dies"));
    }

    private static async Task<string> StopAllAsync(IActorRef root, string name)
    {
        var result = await root.Ask<CommandResult>(new StopProgram(name), Wait);
        return result.Lines.Single() == $"{name}: stopped" ? "family stopped" : string.Join("\n", result.Lines);
    }

    [Fact]
    public async Task Should_rotate_the_childs_output_at_maxbytes_keeping_backups()
    {
        var log = Path.Combine(_folder, "out.log");
        var script = Script("talk.sh", "i=0\nwhile [ $i -lt 2000 ]; do echo \"line-$i-xxxxxxxxxxxxxxxxxxxxxxxxx\"; i=$((i+1)); done\necho done\necho err-done >&2\nsleep 300");
        var root = Root(Program($"[program:talk]\ncommand={script}\nstdout_logfile={log}\nstdout_logfile_maxbytes=1KB\nstdout_logfile_backups=2\nredirect_stderr=true\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // Newest last: out.log.2, out.log.1, out.log. A read of the pipe is written whole, then the file rolls.
        string All() => string.Concat(new[] { log + ".2", log + ".1", log }.Where(File.Exists).Select(File.ReadAllText));
        // redirect_stderr: one pipe, as supervisord's, so stderr's line comes after stdout's, in order.
        await Eventually.HoldsAsync(() => Task.FromResult(All().EndsWith("\ndone\nerr-done\n", StringComparison.Ordinal)), Wait, "the last lines in the logs",
            () => string.Join(", ", Directory.GetFiles(_folder).Select(f => $"{Path.GetFileName(f)}: {new FileInfo(f).Length}")));
        Assert.Equal(["out.log", "out.log.1", "out.log.2"], Directory.GetFiles(_folder, "out.log*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(new[] { log + ".1", log + ".2" }, backup => Assert.True(new FileInfo(backup).Length >= 1024, $"{backup} rolled before maxbytes"));
        var lines = All().Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("line-", StringComparison.Ordinal)).ToList();
        var numbers = lines.Select(l => int.Parse(l.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(Enumerable.Range(numbers[0], numbers.Count), numbers); // the newest lines, in order, none lost between the files
        Assert.Equal(1999, numbers[^1]);
        Assert.True(numbers[0] > 0, "the oldest output beyond the backups is dropped"); // 90 KB read 16 KB at most at a time: more than 3 rollovers
        await root.Ask<CommandResult>(new StopProgram("talk"), Wait);
    }

    [Fact]
    public async Task Should_signal_the_child_as_supervisorctl_signal_does()
    {
        // supervisorctl 4.2.5: "signal USR1 api" -> "api: signalled" (sleep dies of it, and is restarted);
        // "signal USR1 off" on a stopped program -> "off: ERROR (not running)". Not HUP: a child inherits an ignored
        // signal (exec keeps SIG_IGN, under supervisord as here), and a run under nohup ignores HUP.
        var root = Root(Program("[program:api]\ncommand=/bin/sleep 300\nautorestart=false\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var answer = await root.Ask<CommandResult>(new SignalProgram("api", SupervisordValues.Signal("USR1")), Wait);
        Assert.Equal("api: signalled", answer.Lines.Single());
        var exited = await _transitions.ExpectMsgAsync<ProgramTransition>(Wait);
        Assert.Equal((Exited, "exited: terminated by SIGUSR1; not expected"), (exited.To, exited.Description));

        var again = await root.Ask<CommandResult>(new SignalProgram("api", 10), Wait);
        Assert.Equal("api: ERROR (not running)", again.Lines.Single());
    }

    [Fact]
    public async Task Should_stop_every_process_at_host_shutdown_in_reverse_priority_killing_one_that_ignores_SIGTERM_at_stopwaitsecs()
    {
        var first = Program("[program:api]\ncommand=/bin/sleep 300\npriority=10\n");
        var last = Program($"[program:stubborn]\ncommand={Python} -c \"import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)\"\npriority=20\n",
            stopWait: TimeSpan.FromSeconds(1));
        var root = Sys.ActorOf(RootSupervisor.Props([first, last], durable: false));
        await Eventually.HoldsAsync(async () => (await root.Ask<StatusReport>(new GetStatus(null), Wait)).Programs.All(p => p.State == Running), Wait, "both RUNNING");
        var pids = (await root.Ask<StatusReport>(new GetStatus(null), Wait)).Programs.Select(p => p.Pid).ToList();
        _transitions.ReceiveWhile(TimeSpan.FromMilliseconds(100), m => m);

        var clock = Stopwatch.StartNew();
        await root.Ask<AllStopped>(ShutdownAll.Instance, Wait);

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(6));
        var stops = _transitions.ReceiveWhile(TimeSpan.FromMilliseconds(300), m => (ProgramTransition)m).Where(t => t.To == Stopped).Select(t => t.Program).ToList();
        Assert.Equal(["stubborn", "api"], stops); // descending priority, as supervisord
        foreach (var pid in pids) await GoneAsync(pid, $"{pid} stopped with the host");
    }

    [Fact]
    public async Task Should_apply_the_programs_directory_and_environment()
    {
        var output = Path.Combine(_folder, "env.log");
        var root = Root(Program($"[program:env]\ncommand=/bin/sh -c \"echo $PWD $GREETING $SUPERVISOR_ENABLED $SUPERVISOR_PROCESS_NAME; sleep 300\"\ndirectory=/tmp\nenvironment=GREETING=\"hello there\"\nstdout_logfile={output}\n"));
        Assert.Equal([Starting, Running], await StatesAsync(2));

        await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(output) && File.ReadAllText(output).Length > 0), Wait, "the output");
        Assert.Equal("/tmp hello there 1 env\n", File.ReadAllText(output));
        await root.Ask<CommandResult>(new StopProgram("env"), Wait);
    }
}
