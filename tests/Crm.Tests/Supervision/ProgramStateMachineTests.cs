using Crm.Actors.Supervision;
using static Crm.Actors.Supervision.ProgramState;

namespace Crm.Tests.Supervision;

public class ProgramStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 28, 8, 0, 0, TimeSpan.Zero);
    private static readonly ProgramSettings Settings = ProgramSettings.Default with { StartRetries = 2 };

    /// <summary>Feeds inputs in order (and follow-ups, as the actor does); returns every state entered.</summary>
    private static (List<ProgramState> States, ProgramStatus Final, List<ProgramEffect> Effects) Run(ProgramSettings settings, params ProgramInput[] inputs)
    {
        var status = ProgramStatus.Initial(T0);
        var states = new List<ProgramState>();
        var effects = new List<ProgramEffect>();
        var queue = new Queue<ProgramInput>(inputs);
        while (queue.TryDequeue(out var input))
        {
            var transition = ProgramStateMachine.Apply(status, input, settings, T0, 0.5).Transition
                ?? throw new InvalidOperationException($"{input} refused in {status.State}");
            if (transition.Next.State != status.State) states.Add(transition.Next.State);
            effects.AddRange(transition.Effects);
            status = transition.Next;
            if (transition.FollowUp is { } next) queue = new Queue<ProgramInput>(new[] { next }.Concat(queue));
        }
        return (states, status, effects);
    }

    private static readonly ProgramInput Start = new ProgramInput.Start("test");
    private static readonly ProgramInput Fail = new ProgramInput.Failed("boom");
    private static readonly ProgramInput Retry = new ProgramInput.BackoffElapsed();
    private static readonly ProgramInput Ready = new ProgramInput.Ready();
    private static readonly ProgramInput StartSecs = new ProgramInput.StartSecsElapsed();

    private static readonly ProgramInput Outage = new ProgramInput.Failed("connection refused", Outage: true);

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
        var delays = effects.OfType<ProgramEffect.ScheduleRestart>().Select(e => e.Delay).ToList();
        Assert.Equal(500, delays.Count);
        Assert.All(delays, d => Assert.InRange(d, TimeSpan.Zero, Settings.OutageBackoff)); // back within outage-backoff
        Assert.Equal(Settings.OutageBackoff, delays[^1]);
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
        var settings = Settings with { StartRetries = 0, FatalRetryAfter = TimeSpan.FromMinutes(10) };
        var (states, final, effects) = Run(settings, Start, Fail, new ProgramInput.FatalRetryElapsed(), Ready, StartSecs);
        Assert.Equal([Starting, Fatal, Starting, Running], states);
        Assert.Equal(0, final.FailedStarts);
        Assert.Contains(new ProgramEffect.ScheduleFatalRetry(TimeSpan.FromMinutes(10)), effects);
    }

    [Fact]
    public void Should_stay_FATAL_without_fatal_retry_after_until_an_operator_starts_it()
    {
        var (states, _, effects) = Run(Settings with { StartRetries = 0 }, Start, Fail, new ProgramInput.FatalRetryElapsed(), Start);
        Assert.Equal([Starting, Fatal, Starting], states);
        Assert.DoesNotContain(effects, e => e is ProgramEffect.ScheduleFatalRetry);
    }

    [Fact]
    public void Should_stop_through_STOPPING_and_refuse_what_supervisorctl_refuses()
    {
        var (states, running, _) = Run(Settings, Start, Ready, StartSecs, new ProgramInput.Stop("operator"), new ProgramInput.Stopped());
        Assert.Equal([Starting, Running, Stopping, Stopped], states);

        Assert.Equal("already started", ProgramStateMachine.Apply(Run(Settings, Start).Final, Start, Settings, T0, 0).Refusal?.Reason);
        Assert.Equal("not running", ProgramStateMachine.Apply(running, new ProgramInput.Stop("again"), Settings, T0, 0).Refusal?.Reason);
    }

    [Fact]
    public void Should_stop_a_program_waiting_in_BACKOFF_at_once_and_cancel_its_restart()
    {
        var (states, _, effects) = Run(Settings, Start, Fail, new ProgramInput.Stop("operator"));
        Assert.Equal([Starting, Backoff, Stopped], states);
        Assert.IsType<ProgramEffect.CancelTimers>(effects[^1]);
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
