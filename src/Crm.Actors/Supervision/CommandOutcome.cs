namespace Crm.Actors.Supervision;

/// <summary>
/// One line of supervisorctl's answer to start, stop, restart and update: <c>NAME: started</c>,
/// <c>NAME: stopped</c>, or <c>NAME: ERROR (reason)</c> with supervisorctl 4.2.5's reasons.
/// </summary>
/// <param name="Detail">What supervisorctl's reason does not say: why a start failed.</param>
/// <param name="Process">In a group's answer, the process this line is about (<c>NAME:NODE</c>).</param>
public sealed record CommandOutcome(bool Ok, string Message, string? Detail = null, string? Process = null)
{
    public const string AlreadyStarted = "already started";
    public const string NotRunning = "not running";
    public const string SpawnError = "spawn error";
    public const string AbnormalTermination = "abnormal termination";
    public const string NoSuchProcess = "no such process";
    public const string NoSuchGroup = "no such group";
    public const string BadSignalName = "bad signal name";
    public const string NotAProcess = "not a process: it runs inside the host";

    public static readonly CommandOutcome Started = new(true, "started");
    public static readonly CommandOutcome Stopped = new(true, "stopped");
    public static readonly CommandOutcome Updated = new(true, "updated process group");
    public static readonly CommandOutcome Signalled = new(true, "signalled");

    public static CommandOutcome Error(string reason, string? detail = null) => new(false, reason, detail);
}
