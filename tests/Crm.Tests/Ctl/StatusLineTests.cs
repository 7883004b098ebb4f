using Crm.Ctl;

namespace Crm.Tests.Ctl;

public class StatusLineTests
{
    [Fact]
    public void Should_pad_the_name_to_33_and_the_state_to_10_columns_as_python_does()
    {
        Assert.Equal("reminder_worker                  RUNNING   pid 6, uptime 0:06:34",
            StatusLine.Format("reminder_worker", "RUNNING", "pid 6, uptime 0:06:34"));
    }

    [Fact]
    public void Should_not_cut_a_name_longer_than_33_characters()
    {
        var name = "reminder_worker_with_a_very_long_name_indeed"; // 44 characters
        Assert.Equal($"{name}FATAL     Exited too quickly (process log may have details)",
            StatusLine.Format(name, "FATAL", "Exited too quickly (process log may have details)"));
    }

    [Fact]
    public void Should_keep_the_state_padding_when_the_description_is_empty()
    {
        Assert.Equal("reminder_worker                  STARTING  ", StatusLine.Format("reminder_worker", "STARTING", ""));
        Assert.Equal("api                              STOPPED   ", StatusLine.Format("api", "STOPPED", null));
    }

    [Fact]
    public void Should_exit_0_when_every_listed_program_is_running()
    {
        Assert.Equal(0, StatusLine.ExitCode(["RUNNING", "RUNNING"], anyUnknown: false));
        Assert.Equal(0, StatusLine.ExitCode([], anyUnknown: false));
    }

    // supervisorctl 4.2.5 (do_status): 3 when a listed process is in STOPPED_STATES (STOPPED, EXITED, FATAL), set
    // after the 4 of an unknown name, so it wins; STARTING, BACKOFF and STOPPING are not STOPPED_STATES (exit 0).
    [Theory]
    [InlineData("STOPPED")]
    [InlineData("FATAL")]
    [InlineData("EXITED")]
    public void Should_exit_3_when_a_listed_program_is_stopped_exited_or_fatal(string state)
    {
        Assert.Equal(3, StatusLine.ExitCode(["RUNNING", state], anyUnknown: false));
    }

    [Theory]
    [InlineData("STARTING")]
    [InlineData("BACKOFF")]
    [InlineData("STOPPING")]
    public void Should_exit_0_for_a_program_on_its_way_as_supervisorctl_does(string state)
    {
        Assert.Equal(0, StatusLine.ExitCode(["RUNNING", state], anyUnknown: false));
    }

    [Fact]
    public void Should_exit_4_for_an_unknown_name_unless_a_listed_program_is_stopped()
    {
        Assert.Equal(4, StatusLine.ExitCode(["RUNNING"], anyUnknown: true));
        Assert.Equal(4, StatusLine.ExitCode(["BACKOFF"], anyUnknown: true));
        Assert.Equal(3, StatusLine.ExitCode(["STOPPED"], anyUnknown: true)); // status nosuch worker:worker_01, measured: 3
    }

    [Fact]
    public void Should_widen_the_name_column_to_the_longest_name_plus_3_as_supervisorctl_4_2_5_does()
    {
        // Measured with supervisord 4.2.5: a 47-character name makes the column 50 wide for every line of that answer.
        var longName = "reminder_worker:crmnode-with-a-rather-long-name";
        Assert.Equal(47, longName.Length);
        Assert.Equal(50, StatusLine.NameWidth(["api", longName]));
        Assert.Equal(33, StatusLine.NameWidth(["reminder_worker:crmnode-a"]));
        Assert.Equal(longName + "   RUNNING   pid 6, uptime 0:06:34", StatusLine.Format(longName, "RUNNING", "pid 6, uptime 0:06:34", 50));
    }
}
