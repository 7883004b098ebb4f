using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Supervision;

/// <summary>
/// The real root supervisor running <see cref="StubProgram"/>, whose starts, failures and stops the test decides.
/// Settings are short (milliseconds), so no test waits on a long sleep. What the reminder worker does under its
/// supervisor is tested in Reminders/.
/// </summary>
public sealed class ProgramSupervisorTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    private const string Name = StubProgram.ProgramName;

    /// <summary>Akka's scheduler runs a timer on its next tick, up to this much before its due time as the clock reads it.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(20);

    internal static readonly ProgramSettings Fast = ProgramSettings.Default with
    {
        StartSecs = TimeSpan.FromMilliseconds(300),
        StartRetries = 2,
        StopWaitSecs = TimeSpan.FromSeconds(3),
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private readonly TestProbe _transitions;

    public ProgramSupervisorTests()
    {
        _transitions = CreateTestProbe();
        Sys.EventStream.Subscribe(_transitions, typeof(ProgramTransition));
    }

    private IActorRef Root(StubBehaviour stub, ProgramSettings? settings = null, IProgramReloader? reloader = null) =>
        Sys.ActorOf(RootSupervisor.Props([StubProgram.Program(stub, settings ?? Fast)], durable: false, reloader));

    /// <summary>The next <paramref name="count"/> transitions the program makes, in order.</summary>
    private async Task<List<ProgramTransition>> TransitionsAsync(int count)
    {
        var transitions = new List<ProgramTransition>();
        for (var i = 0; i < count; i++) transitions.Add(await _transitions.ExpectMsgAsync<ProgramTransition>(Wait));
        return transitions;
    }

    /// <summary>The next <paramref name="count"/> states the program enters, in order.</summary>
    private async Task<List<ProgramState>> StatesAsync(int count) => [.. (await TransitionsAsync(count)).Select(t => t.To)];

    private async Task<ProgramInfo> StatusAsync(IActorRef root) => await root.StatusOfAsync(Name, Wait);

    private async Task<string> CommandAsync(IActorRef root, object command) => (await root.Ask<CommandResult>(command, Wait)).ToString();

    /// <summary>The program answers: which start's instance it is.</summary>
    private async Task<int> PingAsync(IActorRef root) => (await root.Ask<StubProgram.Pong>(new ToProgram(Name, new StubProgram.Ping("test")), Wait)).Start;

    [Fact]
    public async Task Should_enter_FATAL_after_startretries_failed_starts()
    {
        var stub = new StubBehaviour { FailFirstStarts = int.MaxValue };
        var root = Root(stub);

        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], await StatesAsync(6));
        await _transitions.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(3, stub.Starts);
        var status = await StatusAsync(root);
        Assert.Equal((Fatal, 3), (status.State, status.FailedStarts));
        Assert.Contains("injected", status.LastError);
    }

    [Fact]
    public async Task Should_reach_RUNNING_after_failed_starts_and_reset_the_count()
    {
        var stub = new StubBehaviour { FailFirstStarts = 2 };
        var root = Root(stub);

        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Running], await StatesAsync(6));
        Assert.Equal(0, (await StatusAsync(root)).FailedStarts);
        Assert.Equal(3, await PingAsync(root));
    }

    [Fact]
    public async Task Should_wait_the_backoff_before_each_retry_growing_from_min_backoff_up_to_max_backoff()
    {
        var stub = new StubBehaviour { FailFirstStarts = int.MaxValue };
        var settings = Fast with { StartRetries = 4, MinBackoff = TimeSpan.FromMilliseconds(100), MaxBackoff = TimeSpan.FromMilliseconds(250), RandomFactor = 0 };
        Root(stub, settings);

        var transitions = await TransitionsAsync(10);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Fatal], transitions.Select(t => t.To));
        // min(max-backoff, min-backoff·2^(n-1)): 100, 200, then 250 (capped), 250 ms after the failed starts 1 to 4.
        var waits = Enumerable.Range(0, 4).Select(n => transitions[2 * n + 2].At - transitions[2 * n + 1].At).ToList();
        TimeSpan[] expected = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(250), TimeSpan.FromMilliseconds(250)];
        Assert.All(waits.Zip(expected, (waited, backoff) => (Waited: waited, Backoff: backoff)),
            w => Assert.True(w.Waited >= w.Backoff - Tick, $"waited {w.Waited.TotalMilliseconds} ms for a {w.Backoff.TotalMilliseconds} ms backoff"));
        Assert.Contains("failed start 1 of 5", transitions[1].Description);
        Assert.Contains("gave up after 5 failed starts", transitions[9].Description);
    }

    [Fact]
    public async Task Should_count_a_failure_before_startsecs_as_a_failed_start_even_once_the_program_is_ready()
    {
        var stub = new StubBehaviour();
        // startsecs far away: the program is ready, and still STARTING when it fails.
        var root = Root(stub, Fast with { StartSecs = TimeSpan.FromMinutes(1) });
        Assert.Equal([Starting], await StatesAsync(1));
        Assert.Equal(1, await PingAsync(root)); // up and answering

        root.Tell(new ToProgram(Name, new StubProgram.Fail("injected: failed early")));

        var transitions = await TransitionsAsync(2);
        Assert.Equal([Backoff, Starting], transitions.Select(t => t.To));
        Assert.Contains("failed start 1 of 3", transitions[0].Description);
        Assert.Equal((Starting, 1), ((await StatusAsync(root)).State, (await StatusAsync(root)).FailedStarts));
    }

    [Fact]
    public async Task Should_enter_RUNNING_only_after_startsecs_even_when_the_program_is_ready_at_once()
    {
        var stub = new StubBehaviour();
        var root = Root(stub, Fast with { StartSecs = TimeSpan.FromMilliseconds(500) });

        var transitions = await TransitionsAsync(2);
        Assert.Equal([Starting, Running], transitions.Select(t => t.To));
        Assert.True(transitions[1].At - transitions[0].At >= TimeSpan.FromMilliseconds(500) - Tick,
            $"RUNNING {(transitions[1].At - transitions[0].At).TotalMilliseconds} ms after STARTING");
        Assert.Equal("started: alive for 0.5s", transitions[1].Description);
        Assert.Equal(1, await PingAsync(root));
    }

    [Fact]
    public async Task Should_fail_a_start_that_is_not_ready_within_start_timeout_and_go_FATAL()
    {
        var stub = new StubBehaviour { NeverReady = true };
        var startTimeout = TimeSpan.FromMilliseconds(500);
        var root = Root(stub, Fast with { StartRetries = 1, StartTimeout = startTimeout });

        var transitions = await TransitionsAsync(4);
        Assert.Equal([Starting, Backoff, Starting, Fatal], transitions.Select(t => t.To));
        Assert.Contains("not ready within start-timeout (0.5s)", (await StatusAsync(root)).LastError);
        Assert.True(transitions[1].At - transitions[0].At >= startTimeout - Tick, $"gave up after {(transitions[1].At - transitions[0].At).TotalMilliseconds} ms");
        Assert.True(transitions[3].At - transitions[2].At >= startTimeout - Tick, $"gave up after {(transitions[3].At - transitions[2].At).TotalMilliseconds} ms");
        // Both starts were spawned, and both stopped.
        Assert.Equal(2, stub.Starts);
        await Eventually.HoldsAsync(() => Task.FromResult(stub.Ends == 2), Wait, "both instances have ended");
    }

    [Fact]
    public async Task Should_exit_and_restart_with_the_counter_reset_after_a_failure_past_startsecs()
    {
        var stub = new StubBehaviour();
        var root = Root(stub);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        root.Tell(new ToProgram(Name, new StubProgram.Fail("injected: unexpected")));

        var transitions = await TransitionsAsync(3);
        Assert.Equal([Exited, Starting, Running], transitions.Select(t => t.To));
        Assert.Equal("exited: injected: unexpected", transitions[0].Description);
        Assert.Equal(0, (await StatusAsync(root)).FailedStarts);
        Assert.Equal(2, await PingAsync(root)); // the program restarted works
    }

    [Fact]
    public async Task Should_go_through_startretries_plus_one_failed_starts_again_after_an_operator_start_on_FATAL()
    {
        var stub = new StubBehaviour { FailFirstStarts = int.MaxValue };
        var root = Root(stub); // startretries 2: three failed starts, then FATAL
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], await StatesAsync(6));
        Assert.Equal(3, stub.Starts);
        Assert.Equal((Fatal, 3), ((await StatusAsync(root)).State, (await StatusAsync(root)).FailedStarts));

        // Starts still fail: a fresh count gives the operator's start three failed starts again; a count carried
        // over from the first FATAL would make its first failure FATAL at once ([Starting, Fatal]).
        var failed = await root.Ask<CommandResult>(new StartProgram(Name), Wait);
        Assert.Equal("stub: ERROR (spawn error)", failed.ToString());
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], await StatesAsync(6));
        Assert.Equal(6, stub.Starts);
        var status = await StatusAsync(root);
        Assert.Equal((Fatal, 3), (status.State, status.FailedStarts));

        // Starts succeed again: the next operator start reaches RUNNING, with the count at 0, and the program works.
        stub.FailFirstStarts = 6;
        Assert.Equal("stub: started", await CommandAsync(root, new StartProgram(Name)));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        Assert.Equal(7, stub.Starts);
        status = await StatusAsync(root);
        Assert.Equal((Running, 0, null), (status.State, status.FailedStarts, status.LastError));
        Assert.Equal(7, await PingAsync(root));
    }

    [Fact]
    public async Task Should_come_back_from_FATAL_after_fatal_retry_after()
    {
        var stub = new StubBehaviour { FailFirstStarts = 1 };
        var fatalRetryAfter = TimeSpan.FromMilliseconds(300);
        Root(stub, Fast with { StartRetries = 0, FatalRetryAfter = fatalRetryAfter });

        var transitions = await TransitionsAsync(4);
        Assert.Equal([Starting, Fatal, Starting, Running], transitions.Select(t => t.To));
        Assert.True(transitions[2].At - transitions[1].At >= fatalRetryAfter - Tick, $"retried {(transitions[2].At - transitions[1].At).TotalMilliseconds} ms after FATAL");
        Assert.Equal(2, stub.Starts);
    }

    [Fact]
    public async Task Should_retry_a_start_that_finds_its_database_unreachable_within_outage_backoff_and_never_count_it_toward_FATAL()
    {
        // Five outages in a row, more than the three failed starts (startretries 2) that would make it FATAL. Without
        // the outage-backoff cap, the retries would wait min-backoff (2 s) and more.
        var stub = new StubBehaviour { OutageFirstStarts = 5 };
        var outageBackoff = TimeSpan.FromMilliseconds(100);
        var root = Root(stub, Fast with { MinBackoff = TimeSpan.FromSeconds(2), MaxBackoff = TimeSpan.FromSeconds(30), OutageBackoff = outageBackoff });

        var transitions = await TransitionsAsync(12);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Running],
            transitions.Select(t => t.To));
        var backoffs = transitions.Where(t => t.To == Backoff).ToList();
        Assert.All(backoffs, t => Assert.StartsWith("database unreachable, retrying in 0.1s (not a failed start): injected: start", t.Description));
        Assert.Equal(["attempt 2", "attempt 3", "attempt 4", "attempt 5", "attempt 6"],
            transitions.Where(t => t.To == Starting).Skip(1).Select(t => t.Description[(t.Description.IndexOf("attempt", StringComparison.Ordinal))..].TrimEnd(')')));
        var waits = Enumerable.Range(0, 5).Select(n => transitions[2 * n + 2].At - transitions[2 * n + 1].At).ToList();
        Assert.All(waits, w => Assert.InRange(w, outageBackoff - Tick, TimeSpan.FromSeconds(2) - Tick));
        var status = await StatusAsync(root);
        Assert.Equal((Running, 0, null), (status.State, status.FailedStarts, status.LastError));
        Assert.Equal(6, stub.Starts);
    }

    [Fact]
    public async Task Should_log_an_expected_failure_in_one_warning_line_and_an_unforeseen_one_as_an_error_with_its_exception()
    {
        var errors = CreateTestProbe();
        Sys.EventStream.Subscribe(errors, typeof(Akka.Event.Error));
        var root = Root(new StubBehaviour());
        Assert.Equal([Starting, Running], await StatesAsync(2));

        // Expected (as a database refusal is): one WARNING line (a LogEvent of that level carries no exception, so
        // no stack trace), and no ERROR.
        await EventFilter.Warning(start: "stub failed: injected: the database refuses").ExpectOneAsync(Wait, async () =>
        {
            root.Tell(new ToProgram(Name, new StubProgram.Fail("injected: the database refuses", StubFailure.Expected)));
            await Task.CompletedTask;
        });
        Assert.Equal([Exited, Starting, Running], await StatesAsync(3));
        errors.ExpectNoMsg(TimeSpan.Zero); // the failure's log line came before its transition: an ERROR would be here
        var exited = (await root.Ask<EventsReport>(new GetEvents(Name), Wait)).Events.Single(e => e.To == Exited);
        Assert.Contains("injected: the database refuses", exited.Description);

        // Unforeseen: a bug, logged as an ERROR with its exception (and so its stack trace).
        root.Tell(new ToProgram(Name, new StubProgram.Fail("injected: a bug")));
        var error = await errors.ExpectMsgAsync<Akka.Event.Error>(Wait);
        Assert.Equal("stub failed: injected: a bug", error.Message.ToString());
        Assert.IsType<InvalidOperationException>(error.Cause);
        Assert.Equal([Exited, Starting, Running], await StatesAsync(3));
    }

    [Fact]
    public async Task Should_answer_start_stop_and_restart_as_supervisorctl_does()
    {
        var root = Root(new StubBehaviour());
        Assert.Equal([Starting, Running], await StatesAsync(2));

        Assert.Equal("stub: ERROR (already started)", await CommandAsync(root, new StartProgram(Name)));
        Assert.Equal("stub: stopped", await CommandAsync(root, new StopProgram(Name)));
        Assert.Equal([Stopping, Stopped], await StatesAsync(2));
        Assert.Equal("stub: ERROR (not running)", await CommandAsync(root, new StopProgram(Name)));
        Assert.Equal("stub: started", await CommandAsync(root, new StartProgram(Name)));
        Assert.Equal([Starting, Running], await StatesAsync(2));
        Assert.Equal("stub: stopped\nstub: started", await CommandAsync(root, new RestartProgram(Name)));
        Assert.Equal([Stopping, Stopped, Starting, Running], await StatesAsync(4));
        Assert.Equal("nope: ERROR (no such process)", await CommandAsync(root, new StopProgram("nope")));
        Assert.Equal("nope: ERROR (no such process)\nnope: ERROR (no such process)", await CommandAsync(root, new RestartProgram("nope")));

        var events = (await root.Ask<EventsReport>(new GetEvents(null), Wait)).Events;
        Assert.Equal([Starting, Running, Stopping, Stopped, Starting, Running, Stopping, Stopped, Starting, Running], events.Select(e => e.To));
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z stub RUNNING -> STOPPING stopped by operator$", events[2].ToString());
    }

    [Fact]
    public async Task Should_answer_for_a_program_whose_start_always_fails_as_supervisorctl_4_2_5_does()
    {
        var stub = new StubBehaviour { FailFirstStarts = int.MaxValue };
        // A long backoff: the program waits in BACKOFF while the commands arrive.
        var root = Root(stub, Fast with { StartRetries = 5, MinBackoff = TimeSpan.FromMinutes(1), MaxBackoff = TimeSpan.FromMinutes(1) });
        Assert.Equal([Starting, Backoff], await StatesAsync(2));

        Assert.Equal("stub: ERROR (already started)", await CommandAsync(root, new StartProgram(Name)));
        Assert.Equal("stub: stopped\nstub: ERROR (spawn error)", await CommandAsync(root, new RestartProgram(Name)));
        Assert.Equal([Stopped, Starting, Backoff], await StatesAsync(3));
        Assert.Equal("stub: stopped", await CommandAsync(root, new StopProgram(Name)));
        Assert.Equal("stub: ERROR (not running)", await CommandAsync(root, new StopProgram(Name)));
        var failed = await root.Ask<CommandResult>(new StartProgram(Name), Wait);
        Assert.Equal("stub: ERROR (spawn error)", failed.ToString());
        Assert.Contains("injected", failed.Outcomes[0].Detail); // the reason, for a line of its own

        var fatal = Sys.ActorOf(RootSupervisor.Props([StubProgram.Program(stub, Fast with { StartRetries = 0 })], durable: false));
        await Eventually.HoldsAsync(async () => (await fatal.StatusOfAsync(Name, Wait)).State == Fatal, Wait, "FATAL");
        Assert.Equal("stub: ERROR (not running)", await CommandAsync(fatal, new StopProgram(Name)));
        Assert.Equal(Fatal, (await fatal.StatusOfAsync(Name, Wait)).State);
    }

    [Fact]
    public void Should_carry_a_command_result_across_the_wire_intact_for_a_cluster()
    {
        var result = new CommandResult(Name, [CommandOutcome.Stopped, CommandOutcome.Error("spawn error", "boom")]);
        var serializer = Sys.Serialization.FindSerializerFor(result);

        var back = (CommandResult)serializer.FromBinary(serializer.ToBinary(result), typeof(CommandResult));

        Assert.Equal(result.ToString(), back.ToString());
        Assert.Equal(result.Outcomes, back.Outcomes);
    }

    [Fact]
    public async Task Should_let_a_graceful_stop_finish_within_stopwaitsecs_and_answer_when_the_program_has_ended()
    {
        // The work in flight takes 500 ms to finish; stopwaitsecs is far longer, so that no stall of a loaded machine
        // lets it pass first.
        var inFlight = TimeSpan.FromMilliseconds(500);
        var stopWait = TimeSpan.FromSeconds(10);
        var stub = new StubBehaviour { GracefulStopTakes = inFlight };
        var root = Root(stub, Fast with { StopWaitSecs = stopWait });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var clock = Stopwatch.StartNew();
        Assert.Equal("stub: stopped", await CommandAsync(root, new StopProgram(Name)));
        clock.Stop();

        Assert.Equal([Stopping, Stopped], await StatesAsync(2));
        Assert.Equal((1, 1), (stub.GracefulStops, stub.Ends)); // it ended on its own, not stopped hard
        Assert.InRange(clock.Elapsed, inFlight - Tick, stopWait);
    }

    [Fact]
    public async Task Should_stop_a_program_that_ignores_its_graceful_stop_once_stopwaitsecs_have_passed()
    {
        var stub = new StubBehaviour { IgnoreGracefulStop = true };
        var stopWait = TimeSpan.FromMilliseconds(300);
        var root = Root(stub, Fast with { StopWaitSecs = stopWait });
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var clock = Stopwatch.StartNew();
        string answer = null!;
        await EventFilter.Warning(start: "stub did not stop within stopwaitsecs (0.3s): stopping it now")
            .ExpectOneAsync(Wait, async () => answer = await CommandAsync(root, new StopProgram(Name)));
        clock.Stop();

        Assert.Equal("stub: stopped", answer);
        Assert.Equal([Stopping, Stopped], await StatesAsync(2));
        Assert.Equal((0, 1), (stub.GracefulStops, stub.Ends)); // stopped hard
        Assert.InRange(clock.Elapsed, stopWait - Tick, Wait);
    }

    [Fact]
    public async Task Should_stop_every_program_for_a_host_shutdown()
    {
        var stub = new StubBehaviour();
        var root = Root(stub);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        await root.Ask<AllStopped>(ShutdownAll.Instance, Wait);

        Assert.Equal(Stopped, (await StatusAsync(root)).State);
        Assert.Equal((1, 1), (stub.GracefulStops, stub.Ends));
    }

    /// <summary>A configuration read again in which the stub's settings have changed.</summary>
    private sealed class Reloader(ProgramDefinition changed) : IProgramReloader
    {
        public int Applied;

        public ReloadPlan Reread() => new([changed], ["some.key: applied"], () => Applied++);
    }

    [Fact]
    public async Task Should_restart_a_running_program_with_its_new_settings_on_update()
    {
        var before = new StubBehaviour();
        var after = new StubBehaviour();
        var reloader = new Reloader(StubProgram.Program(after, Fast with { StartSecs = TimeSpan.FromSeconds(1) }));
        var root = Root(before, reloader: reloader);
        Assert.Equal([Starting, Running], await StatesAsync(2));

        var report = await root.Ask<UpdateReport>(UpdateAll.Instance, Wait);

        Assert.Equal(["stub: stopped", "stub: updated process group", "some.key: applied"], report.Lines);
        Assert.Equal(["stub"], report.Changed);
        Assert.Null(report.Error);
        Assert.Equal(1, reloader.Applied);
        var transitions = await TransitionsAsync(4);
        Assert.Equal([Stopping, Stopped, Starting, Running], transitions.Select(t => t.To));
        Assert.Equal("started: alive for 1s", transitions[3].Description); // the new startsecs, not 0.3s
        Assert.Equal((1, 1, 1), (before.Starts, before.Ends, after.Starts)); // the new definition's program runs
        Assert.Equal(1, await PingAsync(root));
    }
}
