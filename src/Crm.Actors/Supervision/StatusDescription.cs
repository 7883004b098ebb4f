using System.Globalization;

namespace Crm.Actors.Supervision;

/// <summary>The description column of supervisorctl's status line, as supervisord writes it (rpcinterface.py).</summary>
public static class StatusDescription
{
    /// <summary>The process's own pid (clustered: its node's host process) and its uptime from the spawn, as supervisord
    /// counts it (startsecs included); a stop time in the host's zone.</summary>
    public static string Describe(ProgramInfo info, DateTimeOffset now, TimeZoneInfo? zone = null) => info.State switch
    {
        ProgramState.Running => $"pid {info.Pid}, uptime {Uptime(now - (info.SpawnedAt ?? info.Since))}",
        ProgramState.Backoff or ProgramState.Fatal => "Exited too quickly (process log may have details)",
        ProgramState.Stopped when !info.EverStarted => "Not started",
        ProgramState.Stopped or ProgramState.Exited =>
            TimeZoneInfo.ConvertTime(info.Since, zone ?? TimeZoneInfo.Local).ToString("MMM dd hh:mm tt", CultureInfo.InvariantCulture),
        _ => "",
    };

    /// <summary>supervisord's uptime, Python's <c>str(timedelta)</c>: <c>H:MM:SS</c>, or <c>1 day, H:MM:SS</c> past a day.</summary>
    public static string Uptime(TimeSpan uptime)
    {
        if (uptime < TimeSpan.Zero) uptime = TimeSpan.Zero;
        var clock = $"{uptime.Hours}:{uptime.Minutes:00}:{uptime.Seconds:00}";
        return uptime.Days switch { 0 => clock, 1 => $"1 day, {clock}", var days => $"{days} days, {clock}" };
    }
}
