using System.Collections.Immutable;
using Akka.Actor;

namespace Crm.Actors.Supervision;

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

    /// <summary>supervisord's RUNNING_STATES: a start request is refused in these, a stop accepted.</summary>
    public bool IsUp => State is ProgramState.Starting or ProgramState.Running or ProgramState.Backoff;

    /// <summary>Spawned at least once since the host started (supervisorctl's "Not started" otherwise).</summary>
    public bool EverStarted { get; init; }

    /// <summary>When the program was last spawned (its STARTING): a RUNNING program's uptime counts from there.</summary>
    public DateTimeOffset? SpawnedAt { get; init; }

    /// <summary>
    /// An OS process program's child: its pid while it lives (from <see cref="ProgramInput.Spawned"/>), 0 once it has
    /// ended (supervisorctl's <c>pid</c> of a process that is not running); null for a program that runs in the host.
    /// </summary>
    public int? Pid { get; init; }

    /// <summary>The boot decision was taken (autostart, or the remembered operator stop).</summary>
    public bool Booted { get; init; }

    /// <summary>The last operator intent given since the host started (null: none yet); it beats a remembered one.</summary>
    public bool? OperatorStopped { get; init; }

    /// <summary>What follows the stop in progress: new settings (update), a start (restart, update).</summary>
    public AfterStop? Then { get; init; }

    /// <summary>Operators waiting for the outcome of their command.</summary>
    public ImmutableList<Waiter> Waiting { get; init; } = [];
}

/// <param name="Definition">The settings to take once stopped (update).</param>
/// <param name="StartReason">Start again once stopped, for this reason (restart, update).</param>
public sealed record AfterStop(ProgramDefinition? Definition = null, string? StartReason = null);

/// <summary>An operator waiting for the outcome of a command; <c>Earned</c> holds the lines already decided.</summary>
public abstract record Waiter(IActorRef ReplyTo)
{
    /// <summary>stop, restart, update: answered once STOPPED, or, with <c>ThenStarted</c>, once started again.</summary>
    public sealed record ForStop(IActorRef ReplyTo, ImmutableList<CommandOutcome> Earned, CommandOutcome? ThenStarted) : Waiter(ReplyTo);

    /// <summary>start: answered once RUNNING (<c>Success</c>), or when the start fails.</summary>
    public sealed record ForStart(IActorRef ReplyTo, ImmutableList<CommandOutcome> Earned, CommandOutcome Success) : Waiter(ReplyTo);

    /// <summary>A host shutdown: answered once the program is down.</summary>
    public sealed record ForShutdown(IActorRef ReplyTo) : Waiter(ReplyTo);
}
