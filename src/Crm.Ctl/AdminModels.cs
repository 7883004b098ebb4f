using System.Text.Json;
using System.Text.Json.Serialization;

namespace Crm.Ctl;

// The host's answers, as docs/admin-api.md shapes them. Fields the CLI does not print may be absent or null.

public sealed record ProgramStatus(string Name, string State, string? Description, int? Pid, DateTimeOffset? Since, string? LastError);

/// <param name="Steps">Every line of the answer, in order (a restart's stop, then its start); absent: <c>Line</c> alone.</param>
public sealed record CommandResult(string Program, bool Ok, string? Message, string Line, string? Detail = null, IReadOnlyList<CommandStep>? Steps = null);

public sealed record CommandStep(bool Ok, string? Message, string Line, string? Detail = null);

public sealed record ProgramEvent(DateTimeOffset At, string Program, string From, string To, string? Description, string Line);

public sealed record LogChunk(long Offset, string Text);

/// <summary>A command of one of the host's programs, as <c>GET /api/verbs</c> lists it.</summary>
public sealed record ProgramVerb(string Name, string Program, string Usage);

/// <summary>A program's command answered: the lines to print and the exit status.</summary>
public sealed record VerbResult(int ExitCode, IReadOnlyList<string>? Lines);

public sealed record RereadResult(IReadOnlyList<string>? Changed, IReadOnlyList<string>? Added, IReadOnlyList<string>? Removed,
    IReadOnlyList<string>? Live = null, IReadOnlyList<string>? NeedRestart = null);

public sealed record UpdateResult(IReadOnlyList<string>? Restarted, IReadOnlyList<string>? Lines);

public sealed record ErrorBody(string? Error);

public sealed record PidBody(int Pid);

public sealed record ClusterMember(string Address, IReadOnlyList<string>? Roles, string Status, bool Reachable, string? Version,
    IReadOnlyList<string>? Programs);

public sealed record ClusterReport(bool Clustered, IReadOnlyList<ClusterMember>? Members);

public sealed record MemberRequest(string Address);

public sealed record MessageBody(string? Message);

/// <summary>Source-generated (camelCase, as the host writes): no reflection at start-up.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProgramStatus))]
[JsonSerializable(typeof(List<ProgramStatus>))]
[JsonSerializable(typeof(CommandResult))]
[JsonSerializable(typeof(List<ProgramEvent>))]
[JsonSerializable(typeof(LogChunk))]
[JsonSerializable(typeof(List<ProgramVerb>))]
[JsonSerializable(typeof(VerbResult))]
[JsonSerializable(typeof(string[]))]
[JsonSerializable(typeof(RereadResult))]
[JsonSerializable(typeof(UpdateResult))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(PidBody))]
[JsonSerializable(typeof(ClusterReport))]
[JsonSerializable(typeof(MemberRequest))]
[JsonSerializable(typeof(MessageBody))]
internal sealed partial class AdminJson : JsonSerializerContext;
