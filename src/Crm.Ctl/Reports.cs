namespace Crm.Ctl;

/// <summary>The one-line reports of reread, update, scan-now and health, and the reason printed for a network failure.</summary>
public static class Reports
{
    public const string NoConfigUpdates = "No config updates to processes";

    /// <summary>supervisorctl's reread: changed, then available (added), then disappeared (removed).</summary>
    public static IReadOnlyList<string> RereadLines(RereadResult result)
    {
        var lines = (result.Changed ?? []).Select(name => $"{name}: changed")
            .Concat((result.Added ?? []).Select(name => $"{name}: available"))
            .Concat((result.Removed ?? []).Select(name => $"{name}: disappeared"))
            .ToList();
        return lines.Count == 0 ? [NoConfigUpdates] : lines;
    }

    /// <summary>update prints the host's lines; any ERROR line among them makes it fail, so scripts notice.</summary>
    public static int UpdateExitCode(IEnumerable<string> lines) =>
        lines.Any(line => line.Contains(": ERROR (", StringComparison.Ordinal)) ? ExitCodes.Error : ExitCodes.Ok;

    public static string ScanLine(ScanResult scan) => scan.Completed
        ? $"scan: {scan.Found} found, {scan.Written} notified, {scan.Skipped} skipped ({scan.DurationMs} ms)"
        : $"scan: ERROR ({scan.Message})";

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
