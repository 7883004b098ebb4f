using Akka.Actor;

namespace Crm.Actors.Supervision;

/// <summary>How to run one program: its name, its actors, its supervision settings.</summary>
public sealed record ProgramDefinition(string Name, Props Props, ProgramSettings Settings)
{
    /// <summary>
    /// The node's name (SPEC §8, <c>crm.node.name</c>): several instances on one database, standalone or in a cluster,
    /// each keep their own history and operator intent under it. Null in tests that run one node.
    /// </summary>
    public string? Node { get; init; }

    /// <summary>Clustered: the program is a group with one process per node, this one named <c>NAME:NODE</c>.</summary>
    public bool Clustered { get; init; }

    /// <summary>supervisorctl's name for this node's process of the program.</summary>
    public string Process => Clustered ? ProcessNames.Of(Name, Node) : Name;

    /// <summary>
    /// The program's own settings, compared by value: when a re-read configuration makes different ones, the
    /// program has changed (supervisorctl's <c>update</c> restarts it).
    /// </summary>
    public object? Options { get; init; }

    /// <summary>How the program's failures read; by default every one is unforeseen and counts as a failed start.</summary>
    public ProgramFailures Failures { get; init; } = ProgramFailures.Unforeseen;

    /// <summary>How its process is sent a signal (pid, signal number; the error, or null once sent); null: it has none
    /// of its own (it runs inside the host).</summary>
    public Func<int, int, string?>? Signal { get; init; }

    /// <summary>supervisord's <c>priority</c>: programs start in ascending order and stop, at shutdown, in descending order.</summary>
    public int Priority { get; init; } = DefaultPriority;

    public const int DefaultPriority = 999;

    /// <summary>Whose journal this is: the program's process on this node.</summary>
    public string JournalKey => Node is null ? Name : $"{Node}.{Name}";
}

/// <summary>How a program's failures read, as the program knows them (its supervisor knows no program's errors).</summary>
/// <param name="IsOutage">What the program depends on is away (a database down): retried every outage-backoff at
/// most, never a failed start, never FATAL.</param>
/// <param name="IsExpected">A failure the program explains in one line (logged without its stack trace).</param>
public sealed record ProgramFailures(Func<Exception, bool> IsOutage, Func<Exception, bool> IsExpected)
{
    /// <summary>The program ended with an exit status its <c>exitcodes</c> list (an OS process program's exit):
    /// with <c>autorestart=unexpected</c> such an exit after RUNNING is not restarted.</summary>
    public Func<Exception, bool> IsExpectedExit { get; init; } = _ => false;

    public static ProgramFailures Unforeseen { get; } = new(_ => false, _ => false);
}

/// <summary>
/// A program's supervision settings, supervisord's <c>[program:x]</c> keys (SPEC §3), from
/// <c>crm.programs.NAME</c>. Defaults are the seed's supervisord.conf.
/// </summary>
/// <param name="StartTimeout">STARTING lasts at most this: a program not ready by then (its start check unanswered)
/// is stopped, and that is a failed start.</param>
public sealed record ProgramSettings(
    bool AutoStart,
    bool AutoRestart,
    TimeSpan StartSecs,
    int StartRetries,
    TimeSpan StopWaitSecs,
    TimeSpan MinBackoff,
    TimeSpan MaxBackoff,
    double RandomFactor,
    TimeSpan? FatalRetryAfter,
    TimeSpan OutageBackoff,
    TimeSpan StartTimeout)
{
    /// <summary>The section every program's keys fall back to: <c>crm.programs.default</c>.</summary>
    public const string DefaultSection = "default";

    /// <summary>
    /// supervisord's <c>autorestart=unexpected</c>: with <see cref="AutoRestart"/> on, an exit after RUNNING whose
    /// status is expected (one of <c>exitcodes</c>) stays EXITED; any other is restarted.
    /// </summary>
    public bool AutoRestartUnexpectedOnly { get; init; }

    public static ProgramSettings Default { get; } = new(
        AutoStart: true,
        AutoRestart: true,
        StartSecs: TimeSpan.FromSeconds(10),
        StartRetries: 3,
        StopWaitSecs: TimeSpan.FromSeconds(10),
        MinBackoff: TimeSpan.FromSeconds(1),
        MaxBackoff: TimeSpan.FromSeconds(30),
        RandomFactor: 0.2,
        FatalRetryAfter: null,
        OutageBackoff: TimeSpan.FromSeconds(10),
        StartTimeout: TimeSpan.FromSeconds(30));

    /// <summary>
    /// SPEC §3: <c>min(max-backoff, min-backoff * 2^n) * (1 + random * random-factor)</c>, where n counts the
    /// failed starts before this one (the first retry waits min-backoff). <paramref name="random"/> is in [0, 1).
    /// </summary>
    public TimeSpan BackoffDelay(int failedStarts, double random)
    {
        var exponent = Math.Clamp(failedStarts - 1, 0, 30);
        var capped = Math.Min(MaxBackoff.TotalMilliseconds, MinBackoff.TotalMilliseconds * Math.Pow(2, exponent));
        return TimeSpan.FromMilliseconds(capped * (1 + random * RandomFactor));
    }

    /// <summary>
    /// The wait before the next start while the database cannot be reached: the backoff delay, but never more than
    /// outage-backoff (jitter included), so that the program is back within that long of the database's return.
    /// </summary>
    public TimeSpan OutageDelay(int outages, double random) =>
        BackoffDelay(outages, random) is var delay && delay > OutageBackoff ? OutageBackoff : delay;
}
