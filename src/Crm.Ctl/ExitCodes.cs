namespace Crm.Ctl;

/// <summary>supervisorctl's exit statuses (the LSB init-script ones), which operators' scripts already test.</summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The host answered with an ERROR line, refused the call (401/403) or failed; an unknown name for start, stop, restart.</summary>
    public const int Error = 1;

    /// <summary>Unknown command or bad arguments.</summary>
    public const int Usage = 2;

    /// <summary>status: a listed program is not RUNNING.</summary>
    public const int NotRunning = 3;

    /// <summary>No such program (status, tail, events), or the host cannot be reached.</summary>
    public const int UnknownOrUnreachable = 4;

    /// <summary>
    /// start, restart: the program did not start (spawn error, abnormal termination). LSB init's "program is not
    /// running", which supervisorctl answers for a dead program.
    /// </summary>
    public const int FailedToStart = 7;
}
