namespace Crm.Actors.Supervision;

/// <summary>supervisord's process states (supervisor/process.py), SPEC §3.</summary>
/// <remarks>Journaled by name, so the order may change without corrupting the history.</remarks>
[Newtonsoft.Json.JsonConverter(typeof(Newtonsoft.Json.Converters.StringEnumConverter))]
public enum ProgramState { Stopped, Starting, Running, Backoff, Stopping, Exited, Fatal }

public static class ProgramStates
{
    /// <summary>The state as supervisord names it (RUNNING): the one place a state is written for people.</summary>
    public static string Name(this ProgramState state) => state.ToString().ToUpperInvariant();
}
