namespace Crm.Actors.Supervision;

/// <summary>supervisord's process states (supervisor/process.py), SPEC §3.</summary>
/// <remarks>Journaled by name, so the order may change without corrupting the history.</remarks>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum ProgramState { Stopped, Starting, Running, Backoff, Stopping, Exited, Fatal }

/// <summary>What the machine knows of a program. Pure data: the actor holds one and feeds it inputs.</summary>
/// <param name="FailedStarts">Failed starts in a row; RUNNING resets it.</param>
/// <param name="Ready">STARTING: the program reported its actors up and its database answering.</param>
/// <param name="StartSecsPassed">STARTING: startsecs have passed since the spawn.</param>
/// <param name="Outages">Starts in a row that failed because the database could not be reached; RUNNING resets it.</param>
public sealed record ProgramStatus(
    ProgramState State,
    DateTimeOffset Since,
    int FailedStarts = 0,
    bool Ready = false,
    bool StartSecsPassed = false,
    string? LastError = null,
    int Outages = 0)
{
    public static ProgramStatus Initial(DateTimeOffset now) => new(ProgramState.Stopped, now);

    /// <summary>supervisord's RUNNING_STATES: a start request is refused in these.</summary>
    public bool IsUp => State is ProgramState.Starting or ProgramState.Running or ProgramState.Backoff;
}

/// <summary>Inputs: operator commands, what the program reports, and the machine's own timers.</summary>
public abstract record ProgramInput
{
    public sealed record Start(string Reason) : ProgramInput;
    public sealed record Stop(string Reason) : ProgramInput;
    /// <summary>The program's actors are up and its database answers.</summary>
    public sealed record Ready : ProgramInput;
    public sealed record StartSecsElapsed : ProgramInput;
    /// <summary>The program died: failed, or stopped on its own.</summary>
    /// <param name="Outage">It failed because its database could not be reached: the world's fault, not the
    /// program's. A restart will cure it once the database is back, so it never counts toward FATAL.</param>
    public sealed record Failed(string Error, bool Outage = false) : ProgramInput;
    /// <summary>The program ended after a stop request.</summary>
    public sealed record Stopped : ProgramInput;
    public sealed record BackoffElapsed : ProgramInput;
    public sealed record FatalRetryElapsed : ProgramInput;
}

/// <summary>What the actor must do after a transition.</summary>
public abstract record ProgramEffect
{
    /// <summary>Create the program's actors and start the startsecs timer.</summary>
    public sealed record Spawn : ProgramEffect;
    /// <summary>Ask the program to stop; stop it hard after stopwaitsecs.</summary>
    public sealed record StopProgram : ProgramEffect;
    public sealed record ScheduleRestart(TimeSpan Delay) : ProgramEffect;
    public sealed record ScheduleFatalRetry(TimeSpan Delay) : ProgramEffect;
    /// <summary>Forget the pending restart or fatal retry.</summary>
    public sealed record CancelTimers : ProgramEffect;
}

/// <param name="Next">The new status (the same state when nothing changed).</param>
/// <param name="Description">Why: recorded with the transition in the program's history.</param>
/// <param name="FollowUp">An input to feed at once (EXITED with autorestart goes on to STARTING).</param>
public sealed record Transition(ProgramStatus Next, IReadOnlyList<ProgramEffect> Effects, string Description, ProgramInput? FollowUp = null);

/// <summary>Refused input, answered to the operator as supervisorctl does: <c>ERROR (already started)</c>.</summary>
public sealed record Refusal(string Reason);

/// <summary>
/// The supervisord state machine, pure. Rules (SPEC §3): RUNNING only after startsecs alive and ready, which
/// resets the failed-start count; a failure before that is a failed start, BACKOFF then a restart after the
/// backoff delay; more than startretries failed starts in a row is FATAL (supervisord 4.2 passes through BACKOFF
/// for an instant there; this goes straight to FATAL); a failure after RUNNING is EXITED, restarted at once when
/// autorestart is on; FATAL stays until an operator start, or until fatal-retry-after when set.
/// </summary>
public static class ProgramStateMachine
{
    private static readonly ProgramEffect[] None = [];

    public static OneOf Apply(ProgramStatus status, ProgramInput input, ProgramSettings settings, DateTimeOffset now, double random)
    {
        Transition Go(ProgramState state, string description, ProgramEffect[]? effects = null, ProgramInput? followUp = null,
            int? failedStarts = null, string? error = null, int? outages = null) =>
            // error: null keeps the last one, "" clears it.
            new(new ProgramStatus(state, now, failedStarts ?? status.FailedStarts,
                    LastError: error is null ? status.LastError : error.Length == 0 ? null : error, Outages: outages ?? status.Outages),
                effects ?? None, description, followUp);

        Transition Outage(string error)
        {
            var delay = settings.OutageDelay(status.Outages + 1, random);
            return Go(ProgramState.Backoff, $"database unreachable, retrying in {delay.TotalSeconds:0.#}s (not a failed start): {error}",
                [new ProgramEffect.ScheduleRestart(delay)], outages: status.Outages + 1, error: error);
        }

        Transition Spawn(string description, int failedStarts) =>
            Go(ProgramState.Starting, description, [new ProgramEffect.Spawn()], failedStarts: failedStarts);

        return (status.State, input) switch
        {
            (ProgramState.Stopped or ProgramState.Exited, ProgramInput.Start start) =>
                Go(ProgramState.Starting, start.Reason, [new ProgramEffect.Spawn()], failedStarts: 0, outages: 0),
            (ProgramState.Fatal, ProgramInput.Start start) => Go(ProgramState.Starting, start.Reason,
                [new ProgramEffect.CancelTimers(), new ProgramEffect.Spawn()], failedStarts: 0, outages: 0),
            (_, ProgramInput.Start) when status.IsUp => new Refusal("already started"),
            (ProgramState.Stopping, ProgramInput.Start) => new Refusal("stopping"),

            (ProgramState.Starting, ProgramInput.Ready) when status.StartSecsPassed =>
                Go(ProgramState.Running, "started", failedStarts: 0, error: "", outages: 0),
            (ProgramState.Starting, ProgramInput.Ready) => new Transition(status with { Ready = true }, None, "ready"),
            (ProgramState.Starting, ProgramInput.StartSecsElapsed) when status.Ready =>
                Go(ProgramState.Running, $"started: alive for {settings.StartSecs.TotalSeconds:0.###}s", failedStarts: 0, error: "", outages: 0),
            (ProgramState.Starting, ProgramInput.StartSecsElapsed) => new Transition(status with { StartSecsPassed = true }, None, "startsecs passed"),

            // A database outage of any length: retry every outage-backoff at most, never FATAL (supervisor#487).
            (ProgramState.Starting, ProgramInput.Failed { Outage: true } failed) => Outage(failed.Error),
            (ProgramState.Starting, ProgramInput.Failed failed) when status.FailedStarts + 1 > settings.StartRetries =>
                Go(ProgramState.Fatal, $"Exited too quickly: gave up after {status.FailedStarts + 1} failed starts: {failed.Error}",
                    settings.FatalRetryAfter is { } after ? [new ProgramEffect.ScheduleFatalRetry(after)] : None,
                    failedStarts: status.FailedStarts + 1, error: failed.Error),
            (ProgramState.Starting, ProgramInput.Failed failed) =>
                Go(ProgramState.Backoff, $"Exited too quickly (failed start {status.FailedStarts + 1} of {settings.StartRetries + 1}): {failed.Error}",
                    [new ProgramEffect.ScheduleRestart(settings.BackoffDelay(status.FailedStarts + 1, random))],
                    failedStarts: status.FailedStarts + 1, error: failed.Error),
            (ProgramState.Running, ProgramInput.Failed failed) =>
                Go(ProgramState.Exited, $"exited: {failed.Error}",
                    followUp: settings.AutoRestart ? new ProgramInput.Start("autorestart") : null, failedStarts: 0, error: failed.Error),

            (ProgramState.Backoff, ProgramInput.BackoffElapsed) => Spawn(
                status.Outages > 0 ? $"retry after database outage (attempt {status.Outages + 1})" : $"retry after backoff (failed starts: {status.FailedStarts})",
                status.FailedStarts),
            (ProgramState.Fatal, ProgramInput.FatalRetryElapsed) when settings.FatalRetryAfter is not null => Spawn($"fatal-retry-after {settings.FatalRetryAfter}", 0),

            (ProgramState.Starting or ProgramState.Running, ProgramInput.Stop stop) =>
                Go(ProgramState.Stopping, stop.Reason, [new ProgramEffect.StopProgram()]),
            (ProgramState.Backoff or ProgramState.Fatal, ProgramInput.Stop stop) =>
                Go(ProgramState.Stopped, stop.Reason, [new ProgramEffect.CancelTimers()]),
            (ProgramState.Stopping, ProgramInput.Stop) => new Refusal("already stopping"),
            (_, ProgramInput.Stop) => new Refusal("not running"),

            (ProgramState.Stopping, ProgramInput.Stopped) => Go(ProgramState.Stopped, "stopped"),
            (ProgramState.Stopping, ProgramInput.Failed failed) => Go(ProgramState.Stopped, $"stopped (failed while stopping: {failed.Error})"),

            // Late news of a program that is already gone, or a timer that lost its race: nothing changes.
            _ => new Transition(status, None, "ignored"),
        };
    }

    /// <summary>Either a transition or a refusal.</summary>
    public readonly struct OneOf
    {
        private OneOf(Transition? transition, Refusal? refusal) => (Transition, Refusal) = (transition, refusal);
        public Transition? Transition { get; }
        public Refusal? Refusal { get; }
        public static implicit operator OneOf(Transition transition) => new(transition, null);
        public static implicit operator OneOf(Refusal refusal) => new(null, refusal);
    }
}
