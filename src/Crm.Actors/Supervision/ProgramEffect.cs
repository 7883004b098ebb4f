using Akka.Actor;

namespace Crm.Actors.Supervision;

/// <summary>What the actor must do after a transition, in order.</summary>
public abstract record ProgramEffect
{
    /// <summary>Create the program's actors.</summary>
    public sealed record Spawn : ProgramEffect
    {
        public static readonly Spawn Instance = new();
        private Spawn() { }
    }

    /// <summary>Ask the program to finish what is in flight, then stop.</summary>
    public sealed record StopProgram : ProgramEffect
    {
        public static readonly StopProgram Instance = new();
        private StopProgram() { }
    }

    /// <summary>Stop the program now; <paramref name="Reason"/> is its failure when it was not stopping.</summary>
    public sealed record Kill(string Reason) : ProgramEffect;

    /// <summary>Send <paramref name="Timer"/> back to the machine after <paramref name="Delay"/> (replacing a pending one).</summary>
    public sealed record Schedule(ProgramInput Timer, TimeSpan Delay) : ProgramEffect;

    /// <summary>Forget the pending <paramref name="Timer"/>, if any.</summary>
    public sealed record Cancel(ProgramInput Timer) : ProgramEffect;

    /// <summary>Run the program from now on with this definition (its actors and settings).</summary>
    public sealed record Reconfigure(ProgramDefinition Definition) : ProgramEffect;

    /// <summary>Remember the operator's intent across restarts of the host.</summary>
    public sealed record RecordIntent(bool Stopped) : ProgramEffect;

    public sealed record Answer(IActorRef ReplyTo, IReadOnlyList<CommandOutcome> Outcomes) : ProgramEffect;

    /// <summary>Tell a host shutdown that this program is down.</summary>
    public sealed record AnswerDown(IActorRef ReplyTo) : ProgramEffect;

    /// <summary>A line for the log: a decision that changes no state.</summary>
    public sealed record Note(string Text) : ProgramEffect;
}

/// <param name="Next">The new status (the same state when nothing changed).</param>
/// <param name="Description">Why: recorded with the transition in the program's history.</param>
/// <param name="FollowUp">An input to feed at once (EXITED with autorestart goes on to STARTING; a restart's start).</param>
public sealed record Transition(ProgramStatus Next, IReadOnlyList<ProgramEffect> Effects, string Description, ProgramInput? FollowUp = null);
