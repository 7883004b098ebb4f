namespace Crm.Actors.Processes;

/// <summary>supervisorctl's <c>signal</c> for a process program: kill(2) to the child alone, as supervisord sends it.</summary>
public static class ProcessSignals
{
    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>: false when there is no such process any more.</summary>
    public static bool Send(int pid, int signal) => Libc.Kill(pid, signal);
}
