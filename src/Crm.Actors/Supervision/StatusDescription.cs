using System.Globalization;

namespace Crm.Actors.Supervision;

/// <summary>The description column of supervisorctl's status line, as supervisord writes it (rpcinterface.py).</summary>
public static class StatusDescription
{
    /// <summary>Clustered, the node that runs the program follows (SPEC §8); its pid would be another host's.</summary>
    public static string Describe(ProgramInfo info, DateTimeOffset now, int pid, TimeZoneInfo zone)
    {
        if (info.Node is not { } node) return Standalone(info, now, pid, zone);
        var description = info.State == ProgramState.Running ? $"uptime {Uptime(now - info.Since)}" : Standalone(info, now, pid, zone);
        return description.Length == 0 ? $"node {node}" : $"{description}, node {node}";
    }

    private static string Standalone(ProgramInfo info, DateTimeOffset now, int pid, TimeZoneInfo zone) => info.State switch
    {
        ProgramState.Running => $"pid {pid}, uptime {Uptime(now - info.Since)}",
        ProgramState.Backoff or ProgramState.Fatal => "Exited too quickly (process log may have details)",
        ProgramState.Stopped when !info.EverStarted => "Not started",
        ProgramState.Stopped or ProgramState.Exited =>
            TimeZoneInfo.ConvertTime(info.Since, zone).ToString("MMM dd hh:mm tt", CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>supervisord's <c>H:MM:SS</c>, hours not wrapped into days.</summary>
    public static string Uptime(TimeSpan uptime)
    {
        if (uptime < TimeSpan.Zero) uptime = TimeSpan.Zero;
        return $"{(long)uptime.TotalHours}:{uptime.Minutes:00}:{uptime.Seconds:00}";
    }
}
