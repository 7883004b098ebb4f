using Akka.Actor;
using Crm.Actors.Supervision;
using static Crm.Actors.Supervision.ProgramState;

namespace Crm.Tests.Supervision;

public class ProgramStateMachineTests
{
    /// <summary>Whom the machine answers: an operator (crmctl through the admin API) and the host at shutdown.</summary>
    private static readonly IActorRef Op = new Someone("op"), Host = new Someone("host");

    /// <summary>Someone to answer, as the machine sees one: a name (no actor system: the machine only keeps the reference).</summary>
    private sealed class Someone(string name) : MinimalActorRef
    {
        public override ActorPath Path { get; } = new RootActorPath(new Address("akka", "test")) / name;
        public override IActorRefProvider Provider => throw new NotSupportedException("no actor system in a pure test");
    }

    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 8, 0, 0, TimeSpan.Zero);
    private static readonly ProgramSettings Settings = ProgramSettings.Default with { StartRetries = 2 };

    /// <summary>Feeds inputs in order (and follow-ups, as the actor does); returns every state entered.</summary>
    private static (List<ProgramState> States, ProgramStatus Final, List<ProgramEffect> Effects) Run(ProgramSettings settings, params ProgramInput[] inputs) =>
        RunFrom(ProgramStatus.Initial(T0), settings, inputs);

    private static (List<ProgramState> States, ProgramStatus Final, List<ProgramEffect> Effects) RunFrom(ProgramStatus status, ProgramSettings settings, params ProgramInput[] inputs)
    {
        var states = new List<ProgramState>();
        var effects = new List<ProgramEffect>();
        var queue = new Queue<ProgramInput>(inputs);
        while (queue.TryDequeue(out var input))
        {
            var transition = ProgramStateMachine.Apply(status, input, settings, T0, 0.5);
            if (transition.Next.State != status.State) states.Add(transition.Next.State);
            effects.AddRange(transition.Effects);
            status = transition.Next;
            if (transition.FollowUp is { } next) queue = new Queue<ProgramInput>(new[] { next }.Concat(queue));
        }
        return (states, status, effects);
    }

    /// <summary>The lines answered to <paramref name="operator"/>, as crmctl prints them.</summary>
    private static List<string> Answers(IEnumerable<ProgramEffect> effects, IActorRef @operator) =>
        effects.OfType<ProgramEffect.Answer>().Where(a => Equals(a.ReplyTo, @operator))
            .SelectMany(a => a.Outcomes.Select(o => o.Ok ? o.Message : $"ERROR ({o.Message})")).ToList();

    private static IEnumerable<TimeSpan> Scheduled<T>(IEnumerable<ProgramEffect> effects) where T : ProgramInput =>
        effects.OfType<ProgramEffect.Schedule>().Where(s => s.Timer is T).Select(s => s.Delay);

    private static readonly ProgramInput Start = new ProgramInput.Start("test");
    private static readonly ProgramInput Fail = new ProgramInput.Failed("boom");
    private static readonly ProgramInput Retry = ProgramInput.BackoffElapsed.Instance;
    private static readonly ProgramInput Ready = ProgramInput.Ready.Instance;
    private static readonly ProgramInput StartSecs = ProgramInput.StartSecsElapsed.Instance;
    private static readonly ProgramInput HasStopped = ProgramInput.Stopped.Instance;

    private static readonly ProgramInput Outage = new ProgramInput.Failed("connection refused", Outage: true);

    [Fact]
    public void Should_count_a_running_programs_uptime_from_its_spawn_as_supervisord_does()
    {
        var spawned = ProgramStateMachine.Apply(ProgramStatus.Initial(T0), Start, Settings, T0.AddSeconds(1), 0.5).Next;
        var ready = ProgramStateMachine.Apply(spawned, Ready, Settings, T0.AddSeconds(2), 0.5).Next;
        var running = ProgramStateMachine.Apply(ready, StartSecs, Settings, T0.AddSeconds(11), 0.5).Next;

        Assert.Equal((Running, T0.AddSeconds(11), T0.AddSeconds(1)), (running.State, running.Since, running.SpawnedAt));
        var info = new ProgramInfo("p", running.State, running.Since, 0, null, true, Pid: 7) { SpawnedAt = running.SpawnedAt };
        // supervisorctl right after a start that waited startsecs (10 s) says 0:00:10, not 0:00:00.
        Assert.Equal("pid 7, uptime 0:00:11", StatusDescription.Describe(info, T0.AddSeconds(12)));
    }

    [Fact]
    public void Should_never_enter_FATAL_while_the_database_cannot_be_reached_however_long_the_outage()
    {
        var inputs = new List<ProgramInput> { Start };
        for (var i = 0; i < 500; i++) inputs.AddRange([Outage, Retry]);
        inputs.AddRange([Ready, StartSecs]);

        var (states, final, effects) = Run(Settings, inputs.ToArray());

        Assert.DoesNotContain(Fatal, states);
        Assert.Equal(Running, final.State);
        Assert.Equal((0, 0), (final.FailedStarts, final.Outages));
        var delays = Scheduled<ProgramInput.BackoffElapsed>(effects).ToList();
        Assert.Equal(500, delays.Count);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, Settings.OutageBackoff)); // back within outage-backoff
        Assert.Equal(Settings.OutageBackoff, delays[^1]);
    }

    [Fact]
    public void Should_log_an_outage_loudly_when_it_starts_and_when_it_ends_and_its_retries_quietly()
    {
        var status = ProgramStatus.Initial(T0);
        var levels = new List<(ProgramState, Akka.Event.LogLevel)>();
        foreach (var input in new[] { Start, Outage, Retry, Outage, Retry, Outage, Retry, Ready, StartSecs })
        {
            var next = ProgramStateMachine.Apply(status, input, Settings, T0, 0.5).Next;
            if (next.State != status.State) levels.Add((next.State, ProgramStateMachine.LogLevelOf(next)));
            status = next;
        }
        Assert.Equal([
            (Starting, Akka.Event.LogLevel.InfoLevel), (Backoff, Akka.Event.LogLevel.WarningLevel),
            (Starting, Akka.Event.LogLevel.DebugLevel), (Backoff, Akka.Event.LogLevel.DebugLevel),
            (Starting, Akka.Event.LogLevel.DebugLevel), (Backoff, Akka.Event.LogLevel.DebugLevel),
            (Starting, Akka.Event.LogLevel.DebugLevel), (Running, Akka.Event.LogLevel.InfoLevel),
        ], levels);
    }

    [Fact]
    public void Should_still_enter_FATAL_for_failures_a_restart_cannot_cure_after_an_outage()
    {
        var (states, final, _) = Run(Settings, Start, Outage, Retry, Outage, Retry, Fail, Retry, Fail, Retry, Fail);
        Assert.Equal(Fatal, final.State);
        Assert.Equal(3, final.FailedStarts);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Backoff, Starting, Fatal], states);
    }

    [Theory]
    [InlineData(1, 1.0)]
    [InlineData(4, 8.0)]
    [InlineData(5, 10.0)]
    [InlineData(40, 10.0)]
    public void Should_cap_the_outage_delay_at_outage_backoff_jitter_included(int outages, double seconds)
    {
        Assert.Equal(TimeSpan.FromSeconds(seconds), ProgramSettings.Default.OutageDelay(outages, random: 0));
        Assert.True(ProgramSettings.Default.OutageDelay(outages, random: 0.99) <= ProgramSettings.Default.OutageBackoff);
    }

    [Fact]
    public void Should_enter_FATAL_after_startretries_failed_starts()
    {
        var (states, final, effects) = Run(Settings, Start, Fail, Retry, Fail, Retry, Fail);

        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], states);
        Assert.Equal(3, final.FailedStarts);
        Assert.Equal(3, effects.OfType<ProgramEffect.Spawn>().Count());
        Assert.Contains("boom", final.LastError);
    }

    [Fact]
    public void Should_become_RUNNING_only_when_ready_and_alive_for_startsecs_in_either_order()
    {
        Assert.Equal([Starting, Running], Run(Settings, Start, Ready, StartSecs).States);
        Assert.Equal([Starting, Running], Run(Settings, Start, StartSecs, Ready).States);
        Assert.Equal([Starting], Run(Settings, Start, StartSecs).States);
        Assert.Equal([Starting], Run(Settings, Start, Ready).States);
    }

    [Fact]
    public void Should_stop_a_program_not_ready_within_start_timeout_and_count_its_end_a_failed_start()
    {
        var timedOut = ProgramInput.StartTimedOut.Instance;
        var (states, final, effects) = Run(Settings, Start, StartSecs, timedOut);
        Assert.Equal([Starting], states);
        Assert.Contains(new ProgramEffect.Kill("not ready within start-timeout (30s): its start check did not answer"), effects);
        Assert.Contains(TimeSpan.FromSeconds(30), Scheduled<ProgramInput.StartTimedOut>(effects));

        (states, final, _) = RunFrom(final, Settings, new ProgramInput.Failed("not ready within start-timeout (30s): its start check did not answer"));
        Assert.Equal([Backoff], states);
        Assert.Equal(1, final.FailedStarts);

        // Ready in time: the bound does not apply, startsecs does.
        Assert.DoesNotContain(Run(Settings, Start, Ready, timedOut).Effects, e => e is ProgramEffect.Kill);
    }

    [Fact]
    public void Should_reset_the_failed_start_count_on_RUNNING()
    {
        var (states, final, _) = Run(Settings, Start, Fail, Retry, Fail, Retry, Ready, StartSecs);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Running], states);
        Assert.Equal(0, final.FailedStarts);
        Assert.Null(final.LastError);
    }

    [Fact]
    public void Should_exit_and_restart_at_once_with_the_counter_reset_after_a_failure_past_startsecs()
    {
        var (states, final, effects) = Run(Settings, Start, Fail, Retry, Ready, StartSecs, Fail);
        Assert.Equal([Starting, Backoff, Starting, Running, Exited, Starting], states);
        Assert.Equal(0, final.FailedStarts);
        Assert.Equal(3, effects.OfType<ProgramEffect.Spawn>().Count());
    }

    [Fact]
    public void Should_stay_EXITED_when_autorestart_is_off()
    {
        var (states, _, _) = Run(Settings with { AutoRestart = false }, Start, Ready, StartSecs, Fail);
        Assert.Equal([Starting, Running, Exited], states);
    }

    [Fact]
    public void Should_come_back_from_FATAL_after_fatal_retry_after_with_a_fresh_count()
    {
        // startretries 2: a count carried over from the first FATAL (3) would make the retry's first failure FATAL at
        // once; a fresh count gives it startretries + 1 failed starts again, as many as the first time.
        var settings = Settings with { FatalRetryAfter = TimeSpan.FromMinutes(10) };
        var retry = ProgramInput.FatalRetryElapsed.Instance;
        var fatal = Run(settings, Start, Fail, Retry, Fail, Retry, Fail).Final;
        Assert.Equal((Fatal, 3), (fatal.State, fatal.FailedStarts));

        var (states, again, effects) = RunFrom(fatal, settings, retry, Fail, Retry, Fail, Retry, Fail);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], states);
        Assert.Equal(3, again.FailedStarts);
        Assert.Equal(3, effects.OfType<ProgramEffect.Spawn>().Count());
        Assert.Contains(new ProgramEffect.Schedule(retry, TimeSpan.FromMinutes(10)), effects);

        var restarted = RunFrom(fatal, settings, retry).Final;
        Assert.Equal((Starting, 0), (restarted.State, restarted.FailedStarts));
        var (_, running, _) = RunFrom(fatal, settings, retry, Fail, Retry, Ready, StartSecs);
        Assert.Equal((Running, 0), (running.State, running.FailedStarts));
    }

    [Fact]
    public void Should_give_an_operator_start_on_FATAL_a_fresh_count_of_startretries_plus_one_failed_starts()
    {
        var fatal = Run(Settings, Start, Fail, Retry, Fail, Retry, Fail).Final;
        Assert.Equal((Fatal, 3), (fatal.State, fatal.FailedStarts));
        var operatorStart = new ProgramInput.Start("started by operator", Op);

        var (states, again, effects) = RunFrom(fatal, Settings, operatorStart, Fail, Retry, Fail, Retry, Fail);

        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], states);
        Assert.Equal(3, again.FailedStarts);
        Assert.Equal(3, effects.OfType<ProgramEffect.Spawn>().Count());
        Assert.Equal(["ERROR (spawn error)"], Answers(effects, Op)); // answered at the first failed start
        var started = RunFrom(fatal, Settings, operatorStart).Final;
        Assert.Equal((Starting, 0), (started.State, started.FailedStarts));
    }

    [Fact]
    public void Should_stay_FATAL_without_fatal_retry_after_until_an_operator_starts_it()
    {
        var (states, _, effects) = Run(Settings with { StartRetries = 0 }, Start, Fail, ProgramInput.FatalRetryElapsed.Instance, Start);
        Assert.Equal([Starting, Fatal, Starting], states);
        Assert.Empty(Scheduled<ProgramInput.FatalRetryElapsed>(effects));
    }

    [Fact]
    public void Should_stop_through_STOPPING_and_refuse_what_supervisorctl_refuses()
    {
        var (states, stopped, effects) = Run(Settings, Start, Ready, StartSecs, new ProgramInput.Stop("operator", Op), HasStopped);
        Assert.Equal([Starting, Running, Stopping, Stopped], states);
        Assert.Equal(["stopped"], Answers(effects, Op));

        Assert.Equal(["ERROR (already started)"], Answers(RunFrom(Run(Settings, Start).Final, Settings, new ProgramInput.Start("again", Op)).Effects, Op));
        Assert.Equal(["ERROR (not running)"], Answers(RunFrom(stopped, Settings, new ProgramInput.Stop("again", Op)).Effects, Op));
    }

    [Fact]
    public void Should_stop_a_program_waiting_in_BACKOFF_at_once_and_cancel_its_restart()
    {
        var (states, _, effects) = Run(Settings, Start, Fail, new ProgramInput.Stop("operator", Op));
        Assert.Equal([Starting, Backoff, Stopped], states);
        Assert.Contains(new ProgramEffect.Cancel(ProgramInput.BackoffElapsed.Instance), effects);
        Assert.Equal(["stopped"], Answers(effects, Op));
    }

    // supervisorctl 4.2.5's answers (SPEC §4), a program whose start always fails.

    [Fact]
    public void Should_answer_not_running_to_a_stop_on_FATAL_and_keep_it_FATAL_without_its_retry()
    {
        var fatal = Run(Settings with { StartRetries = 0, FatalRetryAfter = TimeSpan.FromMinutes(1) }, Start, Fail).Final;

        var (states, final, effects) = RunFrom(fatal, Settings, new ProgramInput.Stop("stopped by operator", Op));

        Assert.Equal(["ERROR (not running)"], Answers(effects, Op));
        Assert.Empty(states);
        Assert.Equal(Fatal, final.State);
        Assert.Contains(new ProgramEffect.Cancel(ProgramInput.FatalRetryElapsed.Instance), effects);
        Assert.Contains(new ProgramEffect.RecordIntent(true), effects);
    }

    [Fact]
    public void Should_answer_a_start_that_fails_with_spawn_error_and_its_reason_apart()
    {
        var (_, _, effects) = Run(Settings, new ProgramInput.Start("started by operator", Op), Fail);

        var answer = Assert.Single(effects.OfType<ProgramEffect.Answer>());
        Assert.Equal([CommandOutcome.Error("spawn error", "boom")], answer.Outcomes);
    }

    [Fact]
    public void Should_restart_a_STARTING_or_BACKOFF_program_with_a_stop_line_then_the_start_line()
    {
        var starting = Run(Settings, Start).Final;
        var (states, _, effects) = RunFrom(starting, Settings, new ProgramInput.Restart(Op), HasStopped, Fail);
        Assert.Equal([Stopping, Stopped, Starting, Backoff], states);
        Assert.Equal(["stopped", "ERROR (spawn error)"], Answers(effects, Op));

        var backoff = Run(Settings, Start, Fail).Final;
        (states, _, effects) = RunFrom(backoff, Settings, new ProgramInput.Restart(Op), Fail);
        Assert.Equal([Stopped, Starting, Backoff], states);
        Assert.Equal(["stopped", "ERROR (spawn error)"], Answers(effects, Op));
    }

    [Fact]
    public void Should_answer_already_started_at_once_to_a_start_while_STARTING_or_BACKOFF()
    {
        foreach (var status in new[] { Run(Settings, Start).Final, Run(Settings, Start, Fail).Final })
        {
            var (states, _, effects) = RunFrom(status, Settings, new ProgramInput.Start("started by operator", Op));
            Assert.Equal(["ERROR (already started)"], Answers(effects, Op));
            Assert.Empty(states);
            Assert.DoesNotContain(effects, e => e is ProgramEffect.Spawn);
        }
    }

    [Fact]
    public void Should_answer_not_running_to_a_stop_on_STOPPED_or_EXITED_and_keep_the_state()
    {
        var exited = Run(Settings with { AutoRestart = false }, Start, Ready, StartSecs, Fail).Final;
        foreach (var status in new[] { ProgramStatus.Initial(T0), exited })
        {
            var (states, final, effects) = RunFrom(status, Settings, new ProgramInput.Stop("stopped by operator", Op));
            Assert.Equal(["ERROR (not running)"], Answers(effects, Op));
            Assert.Equal((status.State, 0), (final.State, states.Count));
        }
    }

    [Fact]
    public void Should_restart_a_program_that_is_not_running_with_not_running_then_started()
    {
        var (states, _, effects) = Run(Settings, new ProgramInput.Restart(Op), Ready, StartSecs);
        Assert.Equal([Starting, Running], states);
        Assert.Equal(["ERROR (not running)", "started"], Answers(effects, Op));
    }

    [Fact]
    public void Should_restart_a_RUNNING_program_through_STOPPING_and_answer_both_lines_once_RUNNING_again()
    {
        var running = Run(Settings, Start, Ready, StartSecs).Final;
        var (states, _, effects) = RunFrom(running, Settings, new ProgramInput.Restart(Op), HasStopped, Ready, StartSecs);
        Assert.Equal([Stopping, Stopped, Starting, Running], states);
        Assert.Equal(["stopped", "started"], Answers(effects, Op));
    }

    [Fact]
    public void Should_update_a_program_that_is_not_running_without_a_stopped_line_and_keep_it_stopped()
    {
        var definition = new ProgramDefinition("p", Akka.Actor.Props.Empty, Settings with { StartSecs = TimeSpan.FromSeconds(1) });

        var (states, _, effects) = Run(Settings, new ProgramInput.Update(definition, Op));

        Assert.Empty(states);
        Assert.Equal(["updated process group"], Answers(effects, Op));
        Assert.Contains(new ProgramEffect.Reconfigure(definition), effects);
    }

    [Fact]
    public void Should_update_a_RUNNING_program_by_stopping_it_taking_the_settings_then_starting_it()
    {
        var definition = new ProgramDefinition("p", Akka.Actor.Props.Empty, Settings with { StartSecs = TimeSpan.FromSeconds(1) });
        var running = Run(Settings, Start, Ready, StartSecs).Final;

        var (states, _, effects) = RunFrom(running, Settings, new ProgramInput.Update(definition, Op), HasStopped, Ready, StartSecs);

        Assert.Equal([Stopping, Stopped, Starting, Running], states);
        Assert.Equal(["stopped", "updated process group"], Answers(effects, Op));
        Assert.True(effects.IndexOf(new ProgramEffect.Reconfigure(definition)) < effects.LastIndexOf(ProgramEffect.Spawn.Instance));
    }

    [Fact]
    public void Should_boot_from_the_remembered_intent_unless_an_operator_spoke_since()
    {
        Assert.Equal([Starting], Run(Settings, new ProgramInput.Boot(null)).States);
        Assert.Empty(Run(Settings, new ProgramInput.Boot(true)).States);
        Assert.Empty(Run(Settings with { AutoStart = false }, new ProgramInput.Boot(false)).States);
        // An operator stopped it while the journal was awaited: the older remembered start does not override it.
        Assert.Empty(Run(Settings, new ProgramInput.Stop("stopped by operator", Op), new ProgramInput.Boot(false)).States);
        Assert.Equal([Starting], Run(Settings, new ProgramInput.Boot(null), new ProgramInput.Boot(null)).States);
    }

    [Fact]
    public void Should_stop_a_program_booted_without_the_journal_when_it_remembers_an_operator_stop()
    {
        Assert.Equal([Starting, Stopping], Run(Settings, new ProgramInput.Boot(null), new ProgramInput.Remembered(true)).States);
        Assert.Equal([Starting], Run(Settings, new ProgramInput.Boot(null), new ProgramInput.Remembered(false)).States);
        var restarted = Run(Settings, new ProgramInput.Boot(null), new ProgramInput.Restart(Op), HasStopped).Final;
        Assert.Equal(Starting, RunFrom(restarted, Settings, new ProgramInput.Remembered(true)).Final.State); // the operator's word is newer
    }

    [Fact]
    public void Should_answer_a_host_shutdown_once_the_program_is_down_and_not_start_it_again()
    {
        var running = Run(Settings, Start, Ready, StartSecs).Final;
        var restarting = RunFrom(running, Settings, new ProgramInput.Restart(Op)).Final;

        var (states, final, effects) = RunFrom(restarting, Settings, new ProgramInput.Shutdown(Host), HasStopped);

        Assert.Equal([Stopped], states);
        Assert.Contains(new ProgramEffect.AnswerDown(Host), effects);
        Assert.DoesNotContain(effects, e => e is ProgramEffect.Spawn);
        Assert.Equal(["stopped"], Answers(effects, Op));
        Assert.Empty(final.Waiting);
    }

    [Theory]
    [InlineData(1, 0.0, 1_000)]
    [InlineData(2, 0.0, 2_000)]
    [InlineData(3, 0.0, 4_000)]
    [InlineData(6, 0.0, 30_000)]   // 32 s, capped at max-backoff
    [InlineData(40, 0.0, 30_000)]
    [InlineData(1, 0.5, 1_100)]    // + random * random-factor = +10 %
    [InlineData(6, 0.99, 35_940)]
    public void Should_compute_the_capped_exponential_backoff_with_jitter(int failedStarts, double random, double expectedMs)
    {
        Assert.Equal(expectedMs, ProgramSettings.Default.BackoffDelay(failedStarts, random).TotalMilliseconds, precision: 6);
    }
}
