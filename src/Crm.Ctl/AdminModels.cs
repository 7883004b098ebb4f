using System.Text.Json.Serialization;

namespace Crm.Ctl;

/// <summary>The host's answers (docs/admin-api.md).</summary>
public sealed record ProgramStatus(string Name, string State, string Description, int Pid, DateTimeOffset Since, string? LastError);

public sealed record CommandResult(string Program, bool Ok, string Message, string Line);

public sealed record ProgramEvent(DateTimeOffset At, string Program, string From, string To, string Description, string Line);

public sealed record LogChunk(long Offset, string Text);

public sealed record ScanResult(bool Completed, int Found, int Written, int Skipped, int NotDue, long DurationMs, string Message);

public sealed record RereadResult(IReadOnlyList<string> Changed, IReadOnlyList<string> Added, IReadOnlyList<string> Removed);

public sealed record UpdateResult(IReadOnlyList<string> Restarted, IReadOnlyList<string> Lines);

public sealed record ErrorBody([property: JsonPropertyName("error")] string? Error);

public sealed record PidBody(int Pid);

[JsonSourceGenerationOptions(System.Text.Json.JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProgramStatus))]
[JsonSerializable(typeof(List<ProgramStatus>))]
[JsonSerializable(typeof(CommandResult))]
[JsonSerializable(typeof(List<ProgramEvent>))]
[JsonSerializable(typeof(LogChunk))]
[JsonSerializable(typeof(ScanResult))]
[JsonSerializable(typeof(RereadResult))]
[JsonSerializable(typeof(UpdateResult))]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(PidBody))]
internal sealed partial class AdminJson : JsonSerializerContext;
