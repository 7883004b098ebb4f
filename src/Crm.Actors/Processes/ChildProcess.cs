using System.Diagnostics;

namespace Crm.Actors.Processes;

/// <summary>
/// One spawned child of a process program, the leader of its own process group, its output copied to its logs.
/// <para>
/// How it gets its own group: it is started through util-linux's <c>setsid</c>, which calls setsid(2) and execs the
/// command. A child of .NET is not a process group leader, so <c>setsid</c> does not fork: the pid .NET knows is the
/// program's own, and pid == pgid == sid. .NET keeps doing what it does well (the fork and exec, the pipes, the
/// wait and its exit status, which a hand-made posix_spawn would take from it: .NET's SIGCHLD handling reaps only
/// the children it started). A new session rather than supervisord's setpgrp(): the child also leaves the host's
/// terminal, so a Ctrl-C there reaches the host alone, which stops its programs in order.
/// </para>
/// <para>With <c>redirect_stderr</c> the command runs through <c>/bin/sh -c 'exec "$0" "$@" 2>&amp;1'</c>: one pipe for
/// both outputs, as supervisord's dup2, so their lines keep their order; the shell execs, the pid stays the same.</para>
/// </summary>
public sealed class ChildProcess : IDisposable
{
    private readonly Process _process;
    private readonly Task _pumps;
    private readonly RotatingLogWriter? _stdout;
    private readonly RotatingLogWriter? _stderr;

    public int Pid { get; }
    /// <summary>Its process group (and session): the pid itself.</summary>
    public int GroupId => Pid;
    public DateTimeOffset SpawnedAt { get; }
    /// <summary>Ends when the child itself has exited (what it spawned may live on: <see cref="WaitForGroupAsync"/>).</summary>
    public Task<ProcessExit> Exited { get; }

    private ChildProcess(Process process, DateTimeOffset spawnedAt, RotatingLogWriter? stdout, RotatingLogWriter? stderr, bool redirectStderr)
    {
        _process = process;
        Pid = process.Id;
        SpawnedAt = spawnedAt;
        _stdout = stdout;
        _stderr = stderr;
        _pumps = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, stdout),
            PumpAsync(process.StandardError.BaseStream, redirectStderr ? stdout : stderr)); // redirected: only what comes before the exec
        Exited = WaitAsync();
    }

    private async Task<ProcessExit> WaitAsync()
    {
        await _process.WaitForExitAsync().ConfigureAwait(false);
        return ProcessExit.FromExitCode(_process.ExitCode);
    }

    /// <summary>Copies one output to its log (or drops it: NONE) until every holder of the pipe has closed it.</summary>
    private static async Task PumpAsync(Stream output, RotatingLogWriter? log)
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await output.ReadAsync(buffer).ConfigureAwait(false)) > 0) log?.Write(buffer.AsSpan(0, read));
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException) { }
    }

    /// <summary>
    /// Spawns <paramref name="settings"/>' command as supervisord does (the command found on the program's PATH, or
    /// the host's; supervisord's SUPERVISOR_* variables, then the program's environment over the host's; its
    /// directory), in a process group of its own. Throws <see cref="ProcessSpawnException"/> with supervisord's
    /// words when it cannot be spawned.
    /// </summary>
    public static ChildProcess Spawn(ProcessProgramSettings settings, TimeProvider? clock = null)
    {
        var environment = new Dictionary<string, string>(ProcessProgramSettings.CurrentEnvironment(), StringComparer.Ordinal)
        {
            ["SUPERVISOR_ENABLED"] = "1",
            ["SUPERVISOR_PROCESS_NAME"] = settings.Name,
            ["SUPERVISOR_GROUP_NAME"] = settings.Name,
        };
        foreach (var (key, value) in settings.Environment) environment[key] = value;

        var filename = Resolve(settings.Arguments[0], environment.GetValueOrDefault("PATH"));
        if (settings.Directory is { } directory && !Directory.Exists(directory))
            throw new ProcessSpawnException($"couldn't chdir to {directory}: ENOENT");

        var setsid = Resolve("setsid", System.Environment.GetEnvironmentVariable("PATH"), "/usr/bin:/bin");
        var start = new ProcessStartInfo(setsid)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = settings.Directory ?? "",
        };
        if (settings.RedirectStderr)
        {
            // supervisord gives the child one pipe for stdout and stderr (dup2): their lines keep their order. The
            // shell makes fd 2 a copy of fd 1, then execs the command: the pid stays the same.
            start.ArgumentList.Add("/bin/sh");
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add("exec \"$0\" \"$@\" 2>&1");
        }
        start.ArgumentList.Add(filename);
        foreach (var argument in settings.Arguments.Skip(1)) start.ArgumentList.Add(argument);
        start.Environment.Clear();
        foreach (var (key, value) in environment) start.Environment[key] = value;

        var stdout = Open(settings.Stdout);
        RotatingLogWriter? stderr = null;
        try
        {
            stderr = settings.RedirectStderr ? null : Open(settings.Stderr);
            var process = new Process { StartInfo = start };
            var spawnedAt = (clock ?? TimeProvider.System).GetUtcNow();
            try { process.Start(); }
            catch (System.ComponentModel.Win32Exception e) { throw new ProcessSpawnException($"couldn't exec {settings.Arguments[0]}: {e.Message}", e); }
            // stdin stays open and unwritten, as supervisord's: a child reading it waits rather than meets its end.
            return new ChildProcess(process, spawnedAt, stdout, stderr, settings.RedirectStderr);
        }
        catch
        {
            stdout?.Dispose();
            stderr?.Dispose();
            throw;
        }
    }

    private static RotatingLogWriter? Open(LogFileSettings log)
    {
        if (log.Path is not { } path) return null;
        try { return new RotatingLogWriter(path, log.MaxBytes, log.Backups); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ProcessSpawnException($"cannot open the log file {path}: {e.Message}", e);
        }
    }

    /// <summary>supervisord's <c>get_execv_args</c>: a name with a '/' as it is, else the first match on PATH; then <c>check_execv_args</c>.</summary>
    internal static string Resolve(string program, string? path, string fallbackPath = "/bin:/usr/bin:/usr/local/bin")
    {
        var filename = program;
        if (!program.Contains('/'))
        {
            var folders = (string.IsNullOrEmpty(path) ? fallbackPath : path).Split(':');
            filename = folders.Select(folder => Path.Combine(folder, program)).FirstOrDefault(candidate => File.Exists(candidate) || Directory.Exists(candidate))
                ?? program;
        }
        if (Directory.Exists(filename)) throw new ProcessSpawnException($"command at '{filename}' is a directory");
        if (!File.Exists(filename)) throw new ProcessSpawnException($"can't find command '{filename}'");
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(filename) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) == 0)
            throw new ProcessSpawnException($"command at '{filename}' is not executable");
        return filename;
    }

    /// <summary>Sends <paramref name="signal"/> to the child, or to its whole group; false when there was nobody to receive it.</summary>
    public bool Signal(int signal, bool toGroup)
    {
        // Between the fork and setsid() the child is still in the host's group and its own does not exist yet.
        if (toGroup && Libc.Kill(-GroupId, signal)) return true;
        // Once .NET has reaped the child, its pid may be another process's (a group's id is not reused while it has members).
        return !Exited.IsCompleted && Libc.Kill(Pid, signal);
    }

    /// <summary>The members of the child's group still alive (the child itself included while it lives).</summary>
    public IReadOnlyList<ProcessEntry> LiveGroup() => ProcessTable.LiveMembers(GroupId);

    /// <summary>
    /// Polls until no member of the group is alive; false when <paramref name="timeout"/> passed first. The group's
    /// members that died as our children (orphans of the child, ours as its subreaper) are reaped on the way, so
    /// that none is left a zombie when the host exits right after (the child itself is .NET's to reap).
    /// </summary>
    public async Task<bool> WaitForGroupAsync(TimeSpan timeout, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (ReapGroupZombies() == 0) return true;
            if (DateTime.UtcNow >= deadline) return false;
            await Task.Delay(20, cancellation).ConfigureAwait(false);
        }
    }

    /// <summary>Reaps the group's members that died as our children (not the child itself: .NET's); returns how many live.</summary>
    private int ReapGroupZombies()
    {
        var members = ProcessTable.All().Where(p => p.GroupId == GroupId).ToList();
        foreach (var zombie in members.Where(p => p.IsZombie && p.Pid != Pid && p.ParentPid == Environment.ProcessId)) Libc.ReapIfEnded(zombie.Pid);
        return members.Count(p => !p.IsZombie);
    }

    /// <summary>
    /// Waits for the outputs to be closed by every holder (bounded: a daemonised grandchild may keep them), then reaps
    /// what of the group died as our child meanwhile (the last holders: uvicorn's resource tracker, for one).
    /// </summary>
    public Task DrainAsync(TimeSpan timeout) => _pumps.WaitAsync(timeout).ContinueWith(_ => ReapGroupZombies(), TaskScheduler.Default);

    public void Dispose()
    {
        try { _process.StandardInput.Dispose(); } catch (Exception e) when (e is IOException or InvalidOperationException) { }
        _process.Dispose();
        _stdout?.Dispose();
        _stderr?.Dispose();
    }
}
