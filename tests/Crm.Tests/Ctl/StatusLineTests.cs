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

    [Theory]
    [InlineData("BACKOFF")]
    [InlineData("STARTING")]
    [InlineData("STOPPED")]
    [InlineData("FATAL")]
    [InlineData("EXITED")]
    public void Should_exit_3_when_a_listed_program_is_not_running(string state)
    {
        Assert.Equal(3, StatusLine.ExitCode(["RUNNING", state], anyUnknown: false));
    }

    [Fact]
    public void Should_exit_4_when_a_named_program_is_unknown_even_if_another_is_not_running()
    {
        Assert.Equal(4, StatusLine.ExitCode(["RUNNING"], anyUnknown: true));
        Assert.Equal(4, StatusLine.ExitCode(["BACKOFF"], anyUnknown: true));
    }
}
