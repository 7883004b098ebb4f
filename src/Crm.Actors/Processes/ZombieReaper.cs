using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Processes;

/// <summary>
/// Reaps the orphans that end up as the host's children when it is PID 1 (a container's init) or a child
/// subreaper: zombies whose parent is this process and that .NET did not start. It never calls waitpid(-1), which
/// would take the exit statuses .NET's Process waits for: it reads <c>/proc</c> for zombies whose parent is us, and
/// waits for each by its pid alone. A zombie .NET started is reaped by .NET within milliseconds of its SIGCHLD; one
/// still there a scan later (at least <see cref="Grace"/> after it was first seen) is nobody's but ours.
/// </summary>
public sealed class ZombieReaper(int? self = null, TimeSpan? grace = null, TimeProvider? clock = null)
{
    private readonly int _self = self ?? Environment.ProcessId;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Dictionary<int, DateTimeOffset> _seen = [];
    private readonly object _gate = new();

    /// <summary>How long a zombie child is left to .NET before it is taken as an orphan.</summary>
    public TimeSpan Grace { get; } = grace ?? TimeSpan.FromSeconds(2);

    /// <summary>Zombies reaped since the start.</summary>
    public long Reaped { get; private set; }

    /// <summary>Whether orphans are reparented to this process: PID 1, or a child subreaper.</summary>
    public static bool ReceivesOrphans => Environment.ProcessId == 1 || Libc.IsChildSubreaper();

    /// <summary>prctl(PR_SET_CHILD_SUBREAPER): orphans of our descendants become our children (and ours to reap).</summary>
    public static void BecomeSubreaper(bool on = true) => Libc.SetChildSubreaper(on);

    /// <summary>One pass: reaps the zombie children seen at least <see cref="Grace"/> ago; returns the pids reaped.</summary>
    public IReadOnlyList<int> Scan()
    {
        lock (_gate)
        {
            var now = _clock.GetUtcNow();
            var zombies = ProcessTable.All().Where(p => p.ParentPid == _self && p.IsZombie).Select(p => p.Pid).ToHashSet();
            foreach (var gone in _seen.Keys.Where(pid => !zombies.Contains(pid)).ToList()) _seen.Remove(gone);
            var reaped = new List<int>();
            foreach (var pid in zombies)
            {
                if (!_seen.TryGetValue(pid, out var since)) { _seen[pid] = now; continue; }
                if (now - since < Grace) continue;
                if (Libc.ReapIfEnded(pid) is not null) reaped.Add(pid);
                _seen.Remove(pid);
            }
            Reaped += reaped.Count;
            return reaped;
        }
    }
}

/// <summary>
/// Runs a <see cref="ZombieReaper"/> every <c>interval</c>, and soon after each SIGCHLD, when the host receives
/// orphans (PID 1, or a subreaper). Publishes nothing; logs each orphan reaped at debug.
/// </summary>
public sealed class ZombieReaperActor : ReceiveActor, IWithTimers
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ZombieReaper _reaper;
    private readonly TimeSpan _interval;
    private PosixSignalRegistration? _sigchld;

    public ITimerScheduler Timers { get; set; } = null!;

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }

    /// <summary>A child ended: scan once the grace has passed (the zombie is .NET's for that long).</summary>
    private sealed class ChildEnded
    {
        public static readonly ChildEnded Instance = new();
        private ChildEnded() { }
    }

    public ZombieReaperActor(ZombieReaper reaper, TimeSpan interval)
    {
        _reaper = reaper;
        _interval = interval;
        Receive<Tick>(_ => Scan());
        Receive<ChildEnded>(_ => Timers.StartSingleTimer("after-sigchld", Tick.Instance, reaper.Grace + TimeSpan.FromMilliseconds(50)));
    }

    private void Scan()
    {
        foreach (var pid in _reaper.Scan()) _log.Debug("reaped orphan {0}", pid);
    }

    protected override void PreStart()
    {
        Timers.StartPeriodicTimer("scan", Tick.Instance, _interval);
        var self = Self;
        // SIGCHLD's default is to be ignored; this handler leaves it so (.NET's own handling of its children goes on).
        if (!OperatingSystem.IsWindows()) _sigchld = PosixSignalRegistration.Create(PosixSignal.SIGCHLD, _ => self.Tell(ChildEnded.Instance));
    }

    protected override void PostStop() => _sigchld?.Dispose();

    public static Props Props(ZombieReaper? reaper = null, TimeSpan? interval = null) =>
        Akka.Actor.Props.Create(() => new ZombieReaperActor(reaper ?? new ZombieReaper(null, null, null), interval ?? TimeSpan.FromSeconds(1)));
}
