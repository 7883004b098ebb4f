using Crm.Ctl;

namespace Crm.Tests.Ctl;

public class CrmctlDecisionTests
{
    [Fact]
    public void Should_format_status_lines_as_python_does_with_33_and_10_columns()
    {
        Assert.Equal("reminder_worker                  RUNNING   pid 6, uptime 0:06:34",
            Decisions.StatusLine("reminder_worker", "RUNNING", "pid 6, uptime 0:06:34"));
        var longName = new string('x', 40);
        Assert.Equal($"{longName}FATAL     Exited too quickly (process log may have details)",
            Decisions.StatusLine(longName, "FATAL", "Exited too quickly (process log may have details)"));
        Assert.Equal("reminder_worker                  STARTING  ", Decisions.StatusLine("reminder_worker", "STARTING", ""));
    }

    [Fact]
    public void Should_exit_3_when_a_listed_program_is_not_running_and_4_when_one_is_unknown()
    {
        Assert.Equal(0, Decisions.StatusExitCode(["RUNNING"], anyUnknown: false));
        Assert.Equal(3, Decisions.StatusExitCode(["RUNNING", "BACKOFF"], anyUnknown: false));
        Assert.Equal(4, Decisions.StatusExitCode(["RUNNING"], anyUnknown: true));
    }

    [Fact]
    public void Should_report_reread_as_supervisorctl_does()
    {
        Assert.Equal(["No config updates to processes"], Decisions.RereadLines(new RereadResult([], [], [])));
        Assert.Equal(["a: changed", "b: available", "c: disappeared"], Decisions.RereadLines(new RereadResult(["a"], ["b"], ["c"])));
    }

    [Theory]
    [InlineData("tail -f reminder_worker stderr", "tail", true, "stderr")]
    [InlineData("tail reminder_worker", "tail", false, "stdout")]
    [InlineData("actor hierarchy", "actor hierarchy", false, "stdout")]
    [InlineData("status", "status", false, "stdout")]
    public void Should_parse_commands(string line, string verb, bool follow, string stream)
    {
        var command = CtlCommand.Parse(line.Split(' '))!;
        Assert.Equal((verb, follow, stream), (command.Verb, command.Follow, command.Stream));
    }

    [Theory]
    [InlineData("")]
    [InlineData("start")]
    [InlineData("stop a b")]
    [InlineData("tail reminder_worker sideways")]
    [InlineData("actor tree")]
    [InlineData("frobnicate")]
    public void Should_refuse_bad_usage(string line)
    {
        Assert.Null(CtlCommand.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)));
    }

    [Fact]
    public async Task Should_exit_2_with_usage_for_bad_usage_and_4_for_an_unreachable_host()
    {
        var (stdout, stderr) = (new StringWriter(), new StringWriter());
        Assert.Equal(2, await CtlApp.RunAsync(["frobnicate"], stdout, stderr, new Dictionary<string, string?>()));
        Assert.Contains("usage: crmctl", stderr.ToString());

        var closed = Support.Ports.Free();
        Assert.Equal(4, await CtlApp.RunAsync(["status"], stdout, stderr,
            new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = $"http://127.0.0.1:{closed}" }));
        Assert.Contains($"cannot reach http://127.0.0.1:{closed}", stderr.ToString());
    }
}
