using Crm.Actors.Supervision;
using static Crm.Actors.Supervision.ProgramState;

namespace Crm.Tests.Processes;

/// <summary>
/// supervisord's autorestart=unexpected with exitcodes, in the state machine (pure, as ProgramStateMachineTests).
/// What supervisord 4.2.5 does was run on the same cases (startsecs=1, exitcodes=0 or 0,3):
/// <c>/bin/sh -c "exit 0"</c>: "exited: quick (exit status 0; not expected)" three times, then FATAL "Exited too quickly";
/// <c>sleep 2; exit 3</c>: RUNNING, then "exited: late (exit status 3; expected)", EXITED and not restarted;
/// <c>sleep 2; exit 4</c>: "exited: lateunexp (exit status 4; not expected)", restarted.
/// </summary>
public class ProcessExitStateMachineTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 8, 0, 0, TimeSpan.Zero);
    private static readonly ProgramSettings Unexpected = ProgramSettings.Default with { StartRetries = 2, AutoRestartUnexpectedOnly = true };

    private static (List<ProgramState> States, ProgramStatus Final) Run(ProgramSettings settings, params ProgramInput[] inputs)
    {
        var status = ProgramStatus.Initial(T0);
        var states = new List<ProgramState>();
        var queue = new Queue<ProgramInput>(inputs);
        while (queue.TryDequeue(out var input))
        {
            var transition = ProgramStateMachine.Apply(status, input, settings, T0, 0.5);
            if (transition.Next.State != status.State) states.Add(transition.Next.State);
            status = transition.Next;
            if (transition.FollowUp is { } next) queue = new Queue<ProgramInput>(new[] { next }.Concat(queue));
        }
        return (states, status);
    }

    private static readonly ProgramInput Start = new ProgramInput.Start("test");
    private static readonly ProgramInput Ready = ProgramInput.Ready.Instance;
    private static readonly ProgramInput StartSecs = ProgramInput.StartSecsElapsed.Instance;
    private static readonly ProgramInput Retry = ProgramInput.BackoffElapsed.Instance;
    private static readonly ProgramInput ExpectedExit = new ProgramInput.Failed("exit status 3; expected", ExpectedExit: true);
    private static readonly ProgramInput UnexpectedExit = new ProgramInput.Failed("exit status 4; not expected");

    [Fact]
    public void Should_leave_an_expected_exit_EXITED_with_autorestart_unexpected()
    {
        var (states, final) = Run(Unexpected, Start, Ready, StartSecs, ExpectedExit);
        Assert.Equal([Starting, Running, Exited], states);
        Assert.Equal("exit status 3; expected", final.LastError);
    }

    [Fact]
    public void Should_restart_an_unexpected_exit_with_autorestart_unexpected()
    {
        var (states, _) = Run(Unexpected, Start, Ready, StartSecs, UnexpectedExit);
        Assert.Equal([Starting, Running, Exited, Starting], states);
    }

    [Fact]
    public void Should_restart_an_expected_exit_with_autorestart_true()
    {
        var (states, _) = Run(Unexpected with { AutoRestartUnexpectedOnly = false }, Start, Ready, StartSecs, ExpectedExit);
        Assert.Equal([Starting, Running, Exited, Starting], states);
    }

    [Fact]
    public void Should_count_an_expected_exit_before_startsecs_as_a_failed_start_as_supervisord()
    {
        var (states, final) = Run(Unexpected, Start, Ready, ExpectedExit, Retry, Ready, ExpectedExit, Retry, Ready, ExpectedExit);
        Assert.Equal([Starting, Backoff, Starting, Backoff, Starting, Fatal], states);
        Assert.Equal(3, final.FailedStarts);
    }

    [Fact]
    public void Should_carry_the_childs_pid_while_it_runs_and_0_once_it_has_ended()
    {
        var spawned = new ProgramInput.Spawned(4242, T0.AddMilliseconds(3));
        var (_, running) = Run(Unexpected, Start, spawned, Ready, StartSecs);
        Assert.Equal((Running, 4242, T0.AddMilliseconds(3)), (running.State, running.Pid, running.SpawnedAt));

        var exited = ProgramStateMachine.Apply(running, ExpectedExit, Unexpected, T0, 0.5).Next;
        Assert.Equal((Exited, 0), (exited.State, exited.Pid));
        Assert.Null(Run(Unexpected, Start, Ready, StartSecs).Final.Pid); // a program in the host has none of its own
    }
}
