using System.Text.Json.Serialization;

namespace Crm.Host.Admin;

/// <summary>The shapes of docs/admin-api.md.</summary>
public static partial class AdminApi
{
    /// <param name="Name">supervisorctl's name: the program standalone, <c>NAME:NODE</c> clustered.</param>
    /// <param name="Program">The program (the group, clustered); <paramref name="Node"/> and <paramref name="Address"/>: the node that runs this process.</param>
    public sealed record ProgramStatus(string Name, string State, string Description, int Pid, DateTimeOffset Since, string? LastError,
        string Program, string? Node, string? Address);

    /// <summary>One line of a command's answer; the top level is the last step, <c>Steps</c> every one in order (none: a group
    /// command that applied to none of its processes, which supervisorctl answers with no line).</summary>
    public sealed record CommandResult(string Program, bool Ok, string Message, string? Detail, string Line, IReadOnlyList<CommandStep> Steps);

    public sealed record CommandStep(bool Ok, string Message, string? Detail, string Line);

    public sealed record Event(DateTimeOffset At, string Program, string From, string To, string Description, string Line);

    public sealed record LogChunk(long Offset, string Text);

    /// <summary>A program's verb (GET /api/verbs): the word typed after crmctl, and its line in crmctl's help.</summary>
    public sealed record Verb(string Name, string Program, string Usage);

    /// <summary>A verb's answer: what crmctl prints and its exit code; <paramref name="Data"/> the same as data.</summary>
    public sealed record VerbResult(int ExitCode, IReadOnlyList<string> Lines, object? Data);

    /// <param name="Live">Host settings that changed and would apply at once; <paramref name="NeedRestart"/>: at the host's next start.</param>
    public sealed record RereadResult(IReadOnlyList<string> Changed, IReadOnlyList<string> Added, IReadOnlyList<string> Removed,
        IReadOnlyList<string> Live, IReadOnlyList<string> NeedRestart);

    public sealed record UpdateResult(IReadOnlyList<string> Restarted, IReadOnlyList<string> Lines);

    public sealed record Error([property: JsonPropertyName("error")] string Message);
}
