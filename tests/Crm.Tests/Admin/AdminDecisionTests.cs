using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Supervision;
using Crm.Host.Admin;

namespace Crm.Tests.Admin;

public class AdminDecisionTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 13, 0, 0, TimeSpan.Zero);
    private static readonly TimeZoneInfo Paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");

    /// <summary>The host's programs, as Program.cs registers them (the store is never opened here).</summary>
    private static readonly ProgramCatalog Programs = new ProgramCatalog()
        .AddReminderWorker(new Crm.Actors.Storage.SqliteReminderStore(Path.Combine(Path.GetTempPath(), "crm-never-opened.db")));

    private static ProgramInfo Info(ProgramState state, DateTimeOffset since, bool everStarted = true) =>
        new("reminder_worker", state, since, 0, null, everStarted);

    [Fact]
    public void Should_describe_each_state_as_supervisorctl_does()
    {
        Assert.Equal("pid 42, uptime 0:06:34", StatusDescription.Describe(Info(ProgramState.Running, Now.AddSeconds(-394)) with { Pid = 42 }, Now, Paris));
        Assert.Equal("pid 42, uptime 1 day, 3:00:05", StatusDescription.Describe(Info(ProgramState.Running, Now.AddHours(-27).AddSeconds(-5)) with { Pid = 42 }, Now, Paris));
        Assert.Equal("Exited too quickly (process log may have details)", StatusDescription.Describe(Info(ProgramState.Backoff, Now) with { Pid = 42 }, Now, Paris));
        Assert.Equal("Exited too quickly (process log may have details)", StatusDescription.Describe(Info(ProgramState.Fatal, Now) with { Pid = 42 }, Now, Paris));
        Assert.Equal("Not started", StatusDescription.Describe(Info(ProgramState.Stopped, Now, everStarted: false) with { Pid = 42 }, Now, Paris));
        Assert.Equal("Nov 28 02:00 PM", StatusDescription.Describe(Info(ProgramState.Stopped, Now) with { Pid = 42 }, Now, Paris));
        Assert.Equal("", StatusDescription.Describe(Info(ProgramState.Starting, Now) with { Pid = 42 }, Now, Paris));
    }

    [Fact]
    public void Should_find_a_program_changed_when_its_supervision_or_its_reminder_settings_change()
    {
        var current = CrmSettings.Load(null, new Dictionary<string, string?>());

        Assert.Empty(ConfigurationState.Compare(Programs, current, CrmSettings.Load("", new Dictionary<string, string?>())).Changed);
        Assert.Equal(["reminder_worker"], ConfigurationState.Compare(Programs, current,
            CrmSettings.Load("crm.programs.reminder_worker.startsecs = 3s", new Dictionary<string, string?>())).Changed);
        Assert.Equal(["reminder_worker"], ConfigurationState.Compare(Programs, current,
            CrmSettings.Load("crm.reminders.batch-size = 50", new Dictionary<string, string?>())).Changed);
        Assert.Empty(ConfigurationState.Compare(Programs, current,
            CrmSettings.Load("crm.logging.level = DEBUG", new Dictionary<string, string?>())).Changed);
    }

    [Fact]
    public void Should_say_which_changed_host_settings_apply_at_once_and_which_need_a_restart_of_the_host()
    {
        var none = new Dictionary<string, string?>();
        var current = CrmSettings.Load(null, none);
        var onDisk = CrmSettings.Load("""
            crm.logging { level = DEBUG, kept-in-memory = 10, max-bytes = 1MB }
            crm.admin.bind = "127.0.0.1:9999"
            crm.database.url = "postgresql://crm:secret@db:5432/crm"
            crm.cluster.seed-nodes = ["akka.tcp://crm-actors@a:4053"]
            """, none);

        var difference = ConfigurationState.Compare(Programs, current, onDisk);

        Assert.Empty(difference.Changed);
        Assert.Equal(["crm.logging.level", "crm.logging.kept-in-memory"], difference.Live);
        Assert.Equal(["crm.database.url", "crm.logging.max-bytes", "crm.admin.bind", "crm.cluster.seed-nodes"], difference.NeedRestart);
        Assert.Empty(ConfigurationState.Compare(Programs, onDisk, CrmSettings.Load("""
            crm.logging { level = DEBUG, kept-in-memory = 10, max-bytes = 1MB }
            crm.admin.bind = "127.0.0.1:9999"
            crm.database.url = "postgresql://crm:secret@db:5432/crm"
            crm.cluster.seed-nodes = ["akka.tcp://crm-actors@a:4053"]
            """, none)).NeedRestart); // read twice, the same: a list compares by its items

        // Once applied, the live ones are in effect, the others still to come: reread reports only those.
        var inEffect = ConfigurationState.InEffect(current, onDisk);
        Assert.Equal(("DEBUG", 10), (inEffect.Logging.Level, inEffect.Logging.KeptInMemory));
        var after = ConfigurationState.Compare(Programs, inEffect, onDisk);
        Assert.Empty(after.Live);
        Assert.Equal(difference.NeedRestart, after.NeedRestart);
    }

    [Fact]
    public void Should_tail_the_last_bytes_then_follow_from_the_offset_and_start_over_after_a_roll()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-tail-").FullName, "reminder_worker.log");
        File.WriteAllText(path, "first line\nsecond line\n");

        var tail = LogTail.Read(path, offset: null, tail: 12);
        Assert.Equal(("second line\n", 23L), (tail.Text, tail.Offset));
        File.AppendAllText(path, "third line\n");
        Assert.Equal("third line\n", LogTail.Read(path, tail.Offset, 1600).Text);

        File.WriteAllText(path, "rolled\n"); // shorter than the offset: the file was rolled
        Assert.Equal("rolled\n", LogTail.Read(path, 34, 1600).Text);
    }

    [Fact]
    public void Should_tail_the_file_serilog_writes_now_after_it_rolled()
    {
        var logs = Directory.CreateTempSubdirectory("crm-roll-").FullName;
        Assert.Equal(Path.Combine(logs, "reminder_worker.log"), LogTail.CurrentFile(logs, "reminder_worker"));
        foreach (var name in new[] { "reminder_worker.log", "reminder_worker_001.log", "reminder_worker_002.log", "reminder_worker_error.log" })
            File.WriteAllText(Path.Combine(logs, name), name);

        Assert.Equal(Path.Combine(logs, "reminder_worker_002.log"), LogTail.CurrentFile(logs, "reminder_worker"));
        Assert.Equal(Path.Combine(logs, "reminder_worker_error.log"), LogTail.CurrentFile(logs, "reminder_worker_error"));
    }

    [Fact]
    public void Should_never_cut_a_UTF8_character_in_two_between_two_reads()
    {
        var bytes = System.Text.Encoding.UTF8.GetBytes("prévue à 10:30");
        var cut = Array.IndexOf(bytes, (byte)0xC3) + 1; // inside "é"
        Assert.Equal(cut - 1, LogTail.CompleteUtf8(bytes, cut));
        Assert.Equal(bytes.Length, LogTail.CompleteUtf8(bytes, bytes.Length));
    }

    [Fact]
    public void Should_warn_at_start_when_the_listener_is_beyond_loopback_without_a_token()
    {
        var warning = AdminAuth.StartupWarning(new AdminSettings("0.0.0.0", 9110), token: null);
        Assert.NotNull(warning);
        Assert.Contains("0.0.0.0:9110", warning);
        Assert.Contains("CRM_ADMIN_TOKEN is not set", warning);
        Assert.Null(AdminAuth.StartupWarning(new AdminSettings("0.0.0.0", 9110), token: "secret"));
        Assert.Null(AdminAuth.StartupWarning(new AdminSettings("127.0.0.1", 9110), token: null));
        Assert.Null(AdminAuth.StartupWarning(new AdminSettings("localhost", 9110), token: null));
        Assert.Contains("bound to [::]:9110,", AdminAuth.StartupWarning(new AdminSettings("::", 9110), token: null));
    }

    [Theory]
    [InlineData("0.0.0.0:80", "0.0.0.0", 80, false)]
    [InlineData("localhost:9110", "localhost", 9110, true)]
    [InlineData("[::1]:9110", "::1", 9110, true)]
    public void Should_accept_an_admin_bind_of_address_and_port(string bind, string host, int port, bool loopback)
    {
        var admin = CrmSettings.Load($"crm.admin.bind = \"{bind}\"", new Dictionary<string, string?>()).Admin;

        Assert.Equal((host, port, loopback), (admin.Host, admin.Port, admin.IsLoopback));
        Assert.Equal(bind, admin.Bind); // read back as it was written
    }

    [Theory]
    [InlineData("9110")]
    [InlineData("127.0.0.1:99999")]
    [InlineData("example.com:9110")]
    public void Should_reject_an_admin_bind_that_is_not_address_and_port(string bind)
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load($"crm.admin.bind = \"{bind}\"", new Dictionary<string, string?>()));
        Assert.Equal("crm.admin.bind", error.Key);
    }

    [Fact]
    public void Should_call_the_worker_healthy_only_when_running_with_a_recent_successful_scan()
    {
        var interval = TimeSpan.FromMinutes(5);
        var recent = new ScanHistoryActor.Health(Now, Now.AddMinutes(-9), null);
        var stale = new ScanHistoryActor.Health(Now, Now.AddMinutes(-11), "connection refused");

        Assert.True(ScanHistoryActor.IsHealthy(true, recent, interval, Now));
        Assert.False(ScanHistoryActor.IsHealthy(false, recent, interval, Now));
        Assert.False(ScanHistoryActor.IsHealthy(true, stale, interval, Now));
        Assert.False(ScanHistoryActor.IsHealthy(true, new ScanHistoryActor.Health(null, null, null), interval, Now));
    }
}
