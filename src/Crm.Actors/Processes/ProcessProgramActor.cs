using Akka.Actor;
using Akka.Event;
using Crm.Actors.Supervision;

namespace Crm.Actors.Processes;

/// <summary>
/// What the actors of one process program share across its spawns: the process group of the last child, so that a
/// new spawn waits until nothing of the last one is alive (a restart then binds the port the last one held).
/// </summary>
public sealed class ProcessLineage
{
    private int _lastGroup;
    public int LastGroup { get => Volatile.Read(ref _lastGroup); set => Volatile.Write(ref _lastGroup, value); }
}

/// <summary>
/// An OS process program under <see cref="ProgramSupervisorActor"/>: it spawns the child in PreStart (in a group of
/// its own), tells its supervisor the pid and that it is ready, and when the child ends on its own it ends what the
/// child spawned (the rest of its process group: stopsignal, then SIGKILL after stopwaitsecs), waits until none is
/// alive, and fails with the exit (<see cref="ProcessExitedException"/>), which its supervisor reads as supervisord's
/// exit. A graceful stop sends stopsignal (to the group with stopasgroup), SIGKILL after stopwaitsecs (to the group
/// with killasgroup), then ends the rest of the group, and stops. Stopped any other way (the supervisor's hard stop),
/// it kills the whole group. Waits run in tasks piped back: the actor never blocks.
/// </summary>
public sealed class ProcessProgramActor : ReceiveActor, IWithTimers
{
    private const int SigKill = 9;
    /// <summary>How long the last spawn's group, or a group killed with SIGKILL, is waited for at most.</summary>
    private static readonly TimeSpan KilledWait = TimeSpan.FromSeconds(5);
    /// <summary>How long the output is read after the end, for the last lines a child wrote.</summary>
    private static readonly TimeSpan DrainWait = TimeSpan.FromSeconds(1);

    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ProcessProgramSettings _settings;
    private readonly TimeSpan _stopWait;
    private readonly TimeSpan _startSecs;
    private readonly ProcessLineage _lineage;
    private readonly TimeProvider _clock;
    private ChildProcess? _child;
    private bool _stopping;
    private bool _ending;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed record LastGroupGone : INoSerializationVerificationNeeded, IDeadLetterSuppression;
    private sealed record ChildExited(ProcessExit Exit) : INoSerializationVerificationNeeded, IDeadLetterSuppression;
    /// <param name="TooQuickly">It exited before startsecs: supervisord calls any such exit "not expected".</param>
    private sealed record GroupEnded(ProcessExit Exit, bool TooQuickly) : INoSerializationVerificationNeeded, IDeadLetterSuppression;
    private sealed class StopWaitElapsed
    {
        public static readonly StopWaitElapsed Instance = new();
        private StopWaitElapsed() { }
    }

    public ProcessProgramActor(ProcessProgramSettings settings, TimeSpan startSecs, TimeSpan stopWait, ProcessLineage lineage, TimeProvider clock)
    {
        _settings = settings;
        _startSecs = startSecs;
        _stopWait = stopWait;
        _lineage = lineage;
        _clock = clock;

        Receive<LastGroupGone>(_ => Spawn());
        Receive<ChildExited>(exited => EndGroup(exited.Exit));
        Receive<GroupEnded>(ended =>
        {
            if (_stopping)
            {
                _log.Info("{0} stopped ({1})", _settings.Name, ended.Exit);
                Context.Stop(Self);
                return;
            }
            throw new ProcessExitedException(_settings.Name, ended.Exit, !ended.TooQuickly && _settings.IsExpected(ended.Exit));
        });
        Receive<ProgramMessages.GracefulStop>(_ =>
        {
            if (_stopping) return;
            _stopping = true;
            if (_child is null) { Context.Stop(Self); return; }
            if (_ending) return; // already ending on its own: the group is being stopped
            _log.Debug("{0}: sending {1} to pid {2}{3}", _settings.Name, SupervisordValues.SignalName(_settings.StopSignal), _child.Pid,
                _settings.StopAsGroup ? " (process group)" : "");
            _child.Signal(_settings.StopSignal, _settings.StopAsGroup);
            Timers.StartSingleTimer(StopWaitElapsed.Instance, StopWaitElapsed.Instance, _stopWait);
        });
        Receive<StopWaitElapsed>(_ =>
        {
            if (_child is null) return;
            _log.Warning("{0} did not stop within stopwaitsecs ({1:0.###}s): killing pid {2}{3} with SIGKILL", _settings.Name, _stopWait.TotalSeconds,
                _child.Pid, _settings.KillAsGroup ? " (process group)" : "");
            _child.Signal(SigKill, _settings.KillAsGroup);
        });
    }

    protected override void PreStart()
    {
        var last = _lineage.LastGroup;
        if (last > 0 && ProcessTable.LiveMembers(last).Count > 0)
        {
            // The last spawn was killed a moment ago: its processes are dying. Spawn once none is alive.
            WaitForGroupAsync(last, KilledWait).PipeTo(Self, success: () => new LastGroupGone());
            return;
        }
        Spawn();
    }

    private static async Task WaitForGroupAsync(int group, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (ProcessTable.LiveMembers(group).Count > 0 && DateTime.UtcNow < deadline) await Task.Delay(20).ConfigureAwait(false);
    }

    private void Spawn()
    {
        _child = ChildProcess.Spawn(_settings, _clock); // a spawn error fails this start (BACKOFF), as supervisord's
        _lineage.LastGroup = _child.GroupId;
        _log.Info("spawned: '{0}' with pid {1}", _settings.Name, _child.Pid);
        Context.Parent.Tell(new ProgramInput.Spawned(_child.Pid, _child.SpawnedAt));
        Context.Parent.Tell(ProgramInput.Ready.Instance);
        _child.Exited.PipeTo(Self, success: exit => new ChildExited(exit));
    }

    /// <summary>
    /// The child has exited: what it spawned goes too (stopsignal to the rest of its group, SIGKILL after
    /// stopwaitsecs), then its output is read to the end, then the exit is news.
    /// </summary>
    private void EndGroup(ProcessExit exit)
    {
        var child = _child!;
        _ending = true;
        var tooQuickly = _clock.GetUtcNow() - child.SpawnedAt < _startSecs;
        Timers.Cancel(StopWaitElapsed.Instance);
        var (name, signal, stopWait, log) = (_settings.Name, _settings.StopSignal, _stopWait, _log);
        async Task<ProcessExit> EndAsync()
        {
            if (child.LiveGroup().Count > 0)
            {
                log.Info("{0} exited ({1}): stopping what it spawned (process group {2})", name, exit, child.GroupId);
                child.Signal(signal, toGroup: true);
                if (!await child.WaitForGroupAsync(stopWait).ConfigureAwait(false))
                {
                    child.Signal(SigKill, toGroup: true);
                    await child.WaitForGroupAsync(KilledWait).ConfigureAwait(false);
                }
            }
            await child.DrainAsync(DrainWait).ConfigureAwait(false);
            return exit;
        }
        EndAsync().PipeTo(Self, success: ended => new GroupEnded(ended, tooQuickly));
    }

    protected override void PostStop()
    {
        if (_child is not { } child) return;
        // Stopped before its group was seen gone (the supervisor's hard stop, a failure): nothing of it may outlive us.
        if (child.LiveGroup().Count > 0)
        {
            child.Signal(SigKill, toGroup: true);
            child.Signal(SigKill, toGroup: false);
        }
        child.DrainAsync(DrainWait).ContinueWith(_ => child.Dispose(), TaskScheduler.Default);
    }

    public static Props Props(ProcessProgramSettings settings, TimeSpan startSecs, TimeSpan stopWait, ProcessLineage? lineage = null, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ProcessProgramActor(settings, startSecs, stopWait, lineage ?? new ProcessLineage(), clock ?? TimeProvider.System));
}

/// <summary>Process programs as the root supervisor runs them.</summary>
public static class ProcessProgram
{
    /// <summary>
    /// A process program: <paramref name="process"/> says how to run it, <paramref name="supervision"/> its
    /// supervision keys; autorestart is the process settings' (true, false, unexpected). Its options are the
    /// process settings, so a changed command or environment reads as a changed program (supervisorctl update).
    /// </summary>
    /// <param name="lineage">The last definition's, when this one replaces it (update): its first spawn then waits
    /// for the last child's group to be gone too.</param>
    public static ProgramDefinition Define(ProcessProgramSettings process, ProgramSettings supervision, TimeProvider? clock = null, ProcessLineage? lineage = null)
    {
        var settings = supervision with
        {
            AutoRestart = process.AutoRestart != AutoRestart.Never,
            AutoRestartUnexpectedOnly = process.AutoRestart == AutoRestart.Unexpected,
        };
        return new ProgramDefinition(process.Name, ProcessProgramActor.Props(process, settings.StartSecs, settings.StopWaitSecs, lineage ?? new ProcessLineage(), clock), settings)
        {
            Options = process,
            Failures = Failures,
            Priority = process.Priority,
            Signal = (pid, signal) => ProcessSignals.Send(pid, signal) ? null : CommandOutcome.NotRunning,
        };
    }

    /// <summary>From a supervisord.conf's section.</summary>
    public static ProgramDefinition Define(SupervisordProgram program, TimeProvider? clock = null, ProcessLineage? lineage = null) =>
        Define(program.Process, program.Supervision, clock, lineage);

    /// <summary>
    /// A child's exit and a spawn error are the program's news, said in one line (no stack trace); an exit whose
    /// status is in exitcodes is expected (autorestart=unexpected leaves it EXITED).
    /// </summary>
    public static ProgramFailures Failures { get; } = new(_ => false, error => Unwrap(error) is ProcessExitedException or ProcessSpawnException)
    {
        IsExpectedExit = error => Unwrap(error) is ProcessExitedException { Expected: true },
    };

    private static Exception Unwrap(Exception error) => error is ActorInitializationException { InnerException: { } inner } ? inner : error;
}
