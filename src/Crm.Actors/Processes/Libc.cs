using System.Globalization;
using System.Runtime.InteropServices;

namespace Crm.Actors.Processes;

/// <summary>The few libc calls .NET has no API for: signals to a process group, one child's wait, the subreaper flag.</summary>
internal static partial class Libc
{
    private const int Esrch = 3;
    private const int Echild = 10;
    private const int WNoHang = 1;
    private const int PrSetChildSubreaper = 36;
    private const int PrGetChildSubreaper = 37;

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int signal);

    [DllImport("libc", EntryPoint = "waitpid", SetLastError = true)]
    private static extern int SysWaitPid(int pid, out int status, int options);

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int SysPrctl(int option, nint arg2, nint arg3, nint arg4, nint arg5);

    [DllImport("libc", EntryPoint = "prctl", SetLastError = true)]
    private static extern int SysPrctlOut(int option, out int arg2, nint arg3, nint arg4, nint arg5);

    [DllImport("libc", EntryPoint = "geteuid")]
    public static extern uint GetEffectiveUserId();

    /// <summary>kill(2): true when delivered, false when no such process (or group); throws on anything else.</summary>
    public static bool Kill(int pid, int signal)
    {
        if (SysKill(pid, signal) == 0) return true;
        var errno = Marshal.GetLastPInvokeError();
        return errno == Esrch ? false : throw new InvalidOperationException($"kill({pid}, {signal}) failed: errno {errno}");
    }

    /// <summary>waitpid(pid, WNOHANG) for one child that is not .NET's: its wait status, or null when it has not ended (or is not ours).</summary>
    public static int? ReapIfEnded(int pid)
    {
        var reaped = SysWaitPid(pid, out var status, WNoHang);
        if (reaped == pid) return status;
        if (reaped == 0) return null;
        var errno = Marshal.GetLastPInvokeError();
        return errno == Echild ? null : throw new InvalidOperationException($"waitpid({pid}) failed: errno {errno}");
    }

    public static void SetChildSubreaper(bool on)
    {
        if (SysPrctl(PrSetChildSubreaper, on ? 1 : 0, 0, 0, 0) != 0)
            throw new InvalidOperationException($"prctl(PR_SET_CHILD_SUBREAPER) failed: errno {Marshal.GetLastPInvokeError()}");
    }

    public static bool IsChildSubreaper() => SysPrctlOut(PrGetChildSubreaper, out var on, 0, 0, 0) == 0 && on != 0;
}

/// <summary>One line of <c>/proc/PID/stat</c>: what the process table says of a process.</summary>
/// <param name="State">R, S, D, Z (zombie), T ...</param>
public sealed record ProcessEntry(int Pid, string Command, char State, int ParentPid, int GroupId, int SessionId)
{
    public bool IsZombie => State is 'Z' or 'X';
}

/// <summary>The process table as <c>/proc</c> shows it.</summary>
public static class ProcessTable
{
    /// <summary>One process, or null when it does not exist (any more).</summary>
    public static ProcessEntry? Get(int pid)
    {
        try { return Parse(pid, File.ReadAllText($"/proc/{pid}/stat")); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
    }

    /// <summary>Every process (those that end while being read are left out).</summary>
    public static IReadOnlyList<ProcessEntry> All()
    {
        var entries = new List<ProcessEntry>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (Get(pid) is { } entry) entries.Add(entry);
        }
        return entries;
    }

    /// <summary>The live (not zombie) members of process group <paramref name="groupId"/>.</summary>
    public static IReadOnlyList<ProcessEntry> LiveMembers(int groupId) =>
        groupId <= 1 ? [] : [.. All().Where(p => p.GroupId == groupId && !p.IsZombie)];

    /// <summary>Whether <paramref name="pid"/> is alive: it exists and is not a zombie.</summary>
    public static bool IsAlive(int pid) => Get(pid) is { IsZombie: false };

    /// <summary><c>pid (comm) state ppid pgrp session ...</c>; comm may hold blanks and parentheses: it ends at the last ')'.</summary>
    internal static ProcessEntry? Parse(int pid, string stat)
    {
        var open = stat.IndexOf('(');
        var close = stat.LastIndexOf(')');
        if (open < 0 || close < open) return null;
        var fields = stat[(close + 2)..].Split(' ');
        if (fields.Length < 4) return null;
        return new ProcessEntry(pid, stat[(open + 1)..close], fields[0][0],
            int.Parse(fields[1], CultureInfo.InvariantCulture), int.Parse(fields[2], CultureInfo.InvariantCulture), int.Parse(fields[3], CultureInfo.InvariantCulture));
    }
}
