using System.Globalization;

namespace Crm.Ctl;

/// <summary>supervisorctl's exit statuses (LSB init script conventions), which scripts already test for.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Error = 1;
    public const int Usage = 2;
    public const int NotRunning = 3;
    public const int UnknownOrUnreachable = 4;
}

/// <summary>Pure decisions and formats: no I/O, tested on their own.</summary>
public static class Decisions
{
    /// <summary>Python's <c>'%-33s%-10s%s' % (name, state, description)</c>: padded, never cut.</summary>
    public static string StatusLine(string name, string state, string description) =>
        string.Create(CultureInfo.InvariantCulture, $"{name,-33}{state,-10}{description}");

    /// <summary>status: 4 when a named program is unknown, 3 when a listed one is not RUNNING, else 0.</summary>
    public static int StatusExitCode(IEnumerable<string> listedStates, bool anyUnknown) =>
        anyUnknown ? ExitCodes.UnknownOrUnreachable
        : listedStates.Any(state => state != "RUNNING") ? ExitCodes.NotRunning
        : ExitCodes.Ok;

    /// <summary>supervisorctl's reread report.</summary>
    public static IReadOnlyList<string> RereadLines(RereadResult result)
    {
        var lines = result.Changed.Select(n => $"{n}: changed")
            .Concat(result.Added.Select(n => $"{n}: available"))
            .Concat(result.Removed.Select(n => $"{n}: disappeared"))
            .ToList();
        return lines.Count == 0 ? ["No config updates to processes"] : lines;
    }

    public static string ScanLine(ScanResult scan) => scan.Completed
        ? $"scan: {scan.Found} found, {scan.Written} notified, {scan.Skipped} skipped ({scan.DurationMs} ms)"
        : $"scan: ERROR ({scan.Message})";
}

/// <summary>A parsed command line.</summary>
public sealed record CtlCommand(string Verb, IReadOnlyList<string> Names, bool Follow = false, string Stream = "stdout", int Lines = 100)
{
    public const string Usage = """
        usage: crmctl COMMAND [ARGS]
          status [NAME...]            one line per program (exit 3: not running, 4: unknown or unreachable)
          start|stop|restart NAME     supervisorctl's start, stop, restart
          tail [-f] NAME [stdout|stderr]
          pid | reread | update | scan-now | health
          actor hierarchy | log peek [N] | events [NAME]
        environment: CRM_ADMIN_URL (default http://127.0.0.1:9110), CRM_ADMIN_TOKEN
        """;

    /// <summary>Null when the words do not make a command.</summary>
    public static CtlCommand? Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0) return null;
        var rest = args.Skip(1).ToList();
        return args[0] switch
        {
            "status" => new("status", rest),
            "start" or "stop" or "restart" when rest.Count == 1 => new(args[0], rest),
            "tail" => ParseTail(rest),
            "pid" or "reread" or "update" or "scan-now" or "health" or "help" when rest.Count == 0 => new(args[0], []),
            "actor" when rest is ["hierarchy"] => new("actor hierarchy", []),
            "log" when rest is ["peek"] => new("log peek", []),
            "log" when rest.Count == 2 && rest[0] == "peek" && int.TryParse(rest[1], out var n) && n > 0 => new("log peek", [], Lines: n),
            "events" when rest.Count <= 1 => new("events", rest),
            _ => null,
        };
    }

    private static CtlCommand? ParseTail(List<string> rest)
    {
        var follow = rest.Remove("-f");
        return rest switch
        {
            [var name] => new("tail", [name], follow),
            [var name, var stream] when stream is "stdout" or "stderr" => new("tail", [name], follow, stream),
            _ => null,
        };
    }
}
