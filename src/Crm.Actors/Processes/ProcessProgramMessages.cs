using Crm.Actors.Supervision;

namespace Crm.Actors.Processes;

/// <summary>What an operator asks a process program, through <see cref="SupervisorMessages.ToProgram"/>.</summary>
public static class ProcessProgramMessages
{
    /// <summary>supervisorctl's <c>signal SIG NAME</c>: <paramref name="Number"/> to the child (its pid, as supervisord's signal()).</summary>
    public sealed record SendSignal(int Number) : IProgramRequest
    {
        public object Unavailable(string reason) =>
            new SignalAnswer(reason == CommandOutcome.NoSuchProcess ? CommandOutcome.NoSuchProcess : CommandOutcome.NotRunning);
    }

    /// <summary>supervisorctl 4.2.5's answer: <c>NAME: signalled</c> (Error null), or <c>NAME: ERROR (not running)</c>.</summary>
    public sealed record SignalAnswer(string? Error);
}
