using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Supervision;

/// <summary>
/// Inputs: operator commands (with whom to answer), what the program and the journal report, and the machine's own
/// timers, which the actor schedules as they are and receives back as messages.
/// </summary>
public abstract record ProgramInput
{
    /// <summary>From the journal's side, once: the operator's remembered intent (null: none, or unknown).</summary>
    public sealed record Boot(bool? OperatorStopped) : ProgramInput;

    /// <summary>From the journal's side, when it answers after a boot without it: the remembered intent.</summary>
    public sealed record Remembered(bool? OperatorStopped) : ProgramInput;

    /// <param name="ReplyTo">The operator to answer; null for the machine's own starts (autostart, retries).</param>
    public sealed record Start(string Reason, object? ReplyTo = null) : ProgramInput;

    /// <param name="ReplyTo">The operator to answer; null for a stop nobody waits for.</param>
    public sealed record Stop(string Reason, object? ReplyTo = null) : ProgramInput;

    /// <summary>supervisorctl's restart: stop (if up), then start; one line for each.</summary>
    public sealed record Restart(object ReplyTo) : ProgramInput;

    /// <summary>supervisorctl's update for one program: new settings; an up program is stopped and started with them.</summary>
    public sealed record Update(ProgramDefinition Definition, object ReplyTo) : ProgramInput;

    /// <summary>The host is stopping: stop gracefully, leave the operator's intent as it was.</summary>
    public sealed record Shutdown(object ReplyTo) : ProgramInput;

    /// <summary>The program's actors are up and its database answers.</summary>
    public sealed record Ready : ProgramInput
    {
        public static readonly Ready Instance = new();
        private Ready() { }
    }

    /// <summary>The program died: failed, or stopped on its own.</summary>
    /// <param name="Outage">It failed because its database could not be reached: the world's fault, not the
    /// program's. A restart will cure it once the database is back, so it never counts toward FATAL.</param>
    /// <param name="ExpectedExit">An OS process exited with a status its <c>exitcodes</c> list: after RUNNING,
    /// <c>autorestart=unexpected</c> does not restart it; before startsecs it is a failed start all the same
    /// (supervisord 4.2.5: "exited: x (exit status 0; not expected)", then BACKOFF).</param>
    public sealed record Failed(string Error, bool Outage = false, bool ExpectedExit = false) : ProgramInput;

    /// <summary>An OS process program has spawned its child: its pid and when (supervisorctl's pid and uptime).</summary>
    public sealed record Spawned(int Pid, DateTimeOffset At) : ProgramInput;

    /// <summary>The program ended after a stop request.</summary>
    public sealed record Stopped : ProgramInput
    {
        public static readonly Stopped Instance = new();
        private Stopped() { }
    }

    /// <summary>Timer: startsecs have passed since the spawn.</summary>
    public sealed record StartSecsElapsed : ProgramInput, INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly StartSecsElapsed Instance = new();
        private StartSecsElapsed() { }
    }

    /// <summary>Timer: start-timeout has passed since the spawn.</summary>
    public sealed record StartTimedOut : ProgramInput, INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly StartTimedOut Instance = new();
        private StartTimedOut() { }
    }

    /// <summary>Timer: the backoff delay has passed.</summary>
    public sealed record BackoffElapsed : ProgramInput, INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly BackoffElapsed Instance = new();
        private BackoffElapsed() { }
    }

    /// <summary>Timer: fatal-retry-after has passed.</summary>
    public sealed record FatalRetryElapsed : ProgramInput, INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly FatalRetryElapsed Instance = new();
        private FatalRetryElapsed() { }
    }

    /// <summary>Timer: stopwaitsecs have passed since the stop request.</summary>
    public sealed record StopWaitElapsed : ProgramInput, INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly StopWaitElapsed Instance = new();
        private StopWaitElapsed() { }
    }
}
