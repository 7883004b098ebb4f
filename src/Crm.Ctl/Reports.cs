namespace Crm.Ctl;

/// <summary>The one-line reports of reread, update and health, and the reason printed for a network failure.</summary>
public static class Reports
{
    public const string NoConfigUpdates = "No config updates to processes";

    /// <summary>Petabridge.Cmd's <c>cluster show</c>: <c>ADDRESS | [ROLES] | STATUS | REACHABLE | VERSION</c>, then the count.</summary>
    public static IReadOnlyList<string> ClusterLines(IReadOnlyList<ClusterMember> members) =>
    [
        .. members.Select(m => $"{m.Address} | [{string.Join(",", m.Roles ?? [])}] | {m.Status.ToLowerInvariant()} | {(m.Reachable ? "reachable" : "unreachable")} | {m.Version}"),
        $"Count: {members.Count} nodes",
    ];

    /// <summary>
    /// supervisorctl's reread: changed, then available (added), then disappeared (removed) programs; then the host's
    /// own settings that changed, saying which ones only a restart of the host applies.
    /// </summary>
    public static IReadOnlyList<string> RereadLines(RereadResult result)
    {
        var lines = (result.Changed ?? []).Select(name => $"{name}: changed")
            .Concat((result.Added ?? []).Select(name => $"{name}: available"))
            .Concat((result.Removed ?? []).Select(name => $"{name}: disappeared"))
            .Concat((result.Live ?? []).Select(key => $"{key}: changed"))
            .Concat((result.NeedRestart ?? []).Select(key => $"{key}: changed, needs a restart of the host"))
            .ToList();
        return lines.Count == 0 ? [NoConfigUpdates] : lines;
    }

    /// <summary>Every line of the answer; none for a group command that applied to none of its processes (a host that
    /// sends no steps at all is an older one: its one line).</summary>
    public static IReadOnlyList<CommandStep> Steps(CommandResult result) =>
        result.Steps is { } steps && (steps.Count > 0 || result.Line.Length == 0) ? steps : [new CommandStep(result.Ok, result.Message, result.Line, result.Detail)];

    /// <summary>
    /// supervisorctl 4.2.5's exit status for start, stop and restart: the last error that is not ignored decides.
    /// A start of a started program and a stop of a stopped one are not errors (exit 0); a program that did not
    /// start is 7; an unknown group (<c>NAME:*</c>) 2, except for stop (1); anything else (an unknown name) 1.
    /// </summary>
    public static int ControlExitCode(IEnumerable<CommandStep> steps, string verb = "start")
    {
        var code = ExitCodes.Ok;
        foreach (var step in steps.Where(s => !s.Ok))
        {
            code = step.Message switch
            {
                "already started" or "not running" => code,
                "spawn error" or "abnormal termination" => ExitCodes.FailedToStart,
                "no such group" => verb == "stop" ? ExitCodes.Error : ExitCodes.Usage,
                _ => ExitCodes.Error,
            };
        }
        return code;
    }

    /// <summary>update prints the host's lines; any ERROR line among them makes it fail, so scripts notice.</summary>
    public static int UpdateExitCode(IEnumerable<string> lines) =>
        lines.Any(line => line.Contains(": ERROR (", StringComparison.Ordinal)) ? ExitCodes.Error : ExitCodes.Ok;

    /// <summary>One line, whatever the body: the HEALTHCHECK log keeps the output of each run.</summary>
    public static string UnhealthyLine(string body, int statusCode, string? reason)
    {
        var text = string.Join(' ', body.Split((char[])['\r', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return $"unhealthy: {(text.Length > 0 ? text : $"{statusCode} {reason}".TrimEnd())}";
    }

    /// <summary>
    /// The messages of an exception and of its inner ones, without repeats: HttpClient's own message ("An error
    /// occurred while sending the request.") says little, the socket's ("Connection refused") says what happened.
    /// </summary>
    public static string FailureReason(Exception failure)
    {
        var messages = new List<string>();
        for (var e = failure; e is not null; e = e.InnerException)
        {
            var message = e.Message.Trim().TrimEnd('.');
            if (message.Length > 0 && !messages.Any(m => m.Contains(message, StringComparison.Ordinal))) messages.Add(message);
        }
        return string.Join(": ", messages);
    }
}
