namespace Crm.Actors.Processes;

/// <summary>How a child ended, as supervisord describes it (<c>decode_wait_status</c>).</summary>
/// <param name="Code">The exit status; for a death by signal, 128 + the signal (what .NET reports).</param>
/// <param name="Signal">The signal that killed it, or null when it exited.</param>
public sealed record ProcessExit(int Code, int? Signal)
{
    /// <summary>
    /// From .NET's <c>Process.ExitCode</c>, which reports a death by signal N as 128 + N: a status above 128 that
    /// names a signal reads as that signal (a shell reports its children the same way).
    /// </summary>
    public static ProcessExit FromExitCode(int code) =>
        code is > 128 and <= 128 + 64 ? new ProcessExit(code, code - 128) : new ProcessExit(code, null);

    /// <summary>supervisord's words: <c>exit status 1</c>, <c>terminated by SIGKILL</c>.</summary>
    public override string ToString() => Signal is { } signal ? $"terminated by {SupervisordValues.SignalName(signal)}" : $"exit status {Code}";
}

/// <summary>An OS process program's child ended on its own: its supervisor reads it as supervisord's exit.</summary>
/// <param name="Expected">Its status is one of the program's exitcodes.</param>
public sealed class ProcessExitedException(string program, ProcessExit exit, bool expected)
    : Exception($"{exit}; {(expected ? "expected" : "not expected")}")
{
    public string Program { get; } = program;
    public ProcessExit Exit { get; } = exit;
    public bool Expected { get; } = expected;
}

/// <summary>A child could not be spawned (command not found, not executable, a directory that does not exist).</summary>
public sealed class ProcessSpawnException(string message, Exception? inner = null) : Exception(message, inner);
