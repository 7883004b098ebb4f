using System.Diagnostics;
using System.Runtime.InteropServices;
using Crm.Actors.Processes;
using Crm.Tests.Support;

namespace Crm.Tests.Processes;

[Trait("Category", "Integration")]
public sealed partial class ZombieReaperTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    [DllImport("libc", SetLastError = true)]
    private static extern int posix_spawn(out int pid, string path, IntPtr fileActions, IntPtr attributes,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] argv,
        [MarshalAs(UnmanagedType.LPArray, ArraySubType = UnmanagedType.LPStr)] string?[] envp);

    /// <summary>A child .NET knows nothing of: once it ends, a zombie only a reaper takes away.</summary>
    private static int SpawnUntracked(string path, params string[] arguments)
    {
        var result = posix_spawn(out var pid, path, IntPtr.Zero, IntPtr.Zero, [path, .. arguments, null], [null]);
        Assert.Equal(0, result);
        return pid;
    }

    private static bool IsZombie(int pid) => ProcessTable.Get(pid) is { IsZombie: true };

    [Fact]
    public async Task Should_reap_a_zombie_child_that_NET_did_not_start_and_leave_NETs_own_exit_statuses_alone()
    {
        var reaper = new ZombieReaper(grace: TimeSpan.FromMilliseconds(300));
        var orphan = SpawnUntracked("/bin/true");
        await Eventually.HoldsAsync(() => Task.FromResult(IsZombie(orphan)), Wait, "the untracked child a zombie");

        // .NET's own children exit meanwhile, many times: their statuses must reach Process, not the reaper.
        var reaping = Task.Run(async () =>
        {
            while (ProcessTable.Get(orphan) is not null) { reaper.Scan(); await Task.Delay(20); }
        });
        for (var i = 0; i < 20; i++)
        {
            using var process = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"exit {i + 1}"]))!;
            await process.WaitForExitAsync();
            Assert.Equal(i + 1, process.ExitCode);
        }
        await reaping.WaitAsync(Wait);

        Assert.Null(ProcessTable.Get(orphan));
        Assert.True(reaper.Reaped >= 1);
    }

    [Fact]
    public async Task Should_reap_orphans_reparented_to_a_subreaper()
    {
        var pidFile = Path.Combine(Directory.CreateTempSubdirectory("crm-reaper-").FullName, "orphan.pid");
        var reaper = Sys.ActorOf(ZombieReaperActor.Props(new ZombieReaper(grace: TimeSpan.FromSeconds(1)), TimeSpan.FromMilliseconds(100)));
        ZombieReaper.BecomeSubreaper();
        try
        {
            Assert.True(ZombieReaper.ReceivesOrphans);
            // The shell exits at once; its sleep, orphaned, becomes our child, then a zombie when it ends.
            using (var shell = Process.Start(new ProcessStartInfo("/bin/sh", ["-c", $"sleep 0.5 & echo $! > {pidFile}; exit 7"]))!)
            {
                await shell.WaitForExitAsync();
                Assert.Equal(7, shell.ExitCode); // .NET's own child, with the reaper's SIGCHLD handler in place
            }
            await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(pidFile) && File.ReadAllText(pidFile).Trim().Length > 0), Wait, "the orphan's pid");
            var orphan = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Environment.ProcessId, ProcessTable.Get(orphan)?.ParentPid ?? Environment.ProcessId);

            await Eventually.HoldsAsync(() => Task.FromResult(ProcessTable.Get(orphan) is null), Wait, "the orphan reaped");
        }
        finally
        {
            ZombieReaper.BecomeSubreaper(false);
            Sys.Stop(reaper);
        }
    }
}
