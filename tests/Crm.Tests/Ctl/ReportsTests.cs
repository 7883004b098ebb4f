using Crm.Ctl;

namespace Crm.Tests.Ctl;

public class ReportsTests
{
    [Fact]
    public void Should_say_no_config_updates_when_reread_finds_nothing()
    {
        Assert.Equal(["No config updates to processes"], Reports.RereadLines(new RereadResult([], [], [])));
        Assert.Equal(["No config updates to processes"], Reports.RereadLines(new RereadResult(null, null, null)));
    }

    [Fact]
    public void Should_report_changed_then_available_then_disappeared_names()
    {
        Assert.Equal(["a: changed", "b: available", "c: disappeared", "d: disappeared"],
            Reports.RereadLines(new RereadResult(["a"], ["b"], ["c", "d"])));
    }

    [Fact]
    public void Should_report_changed_host_settings_and_say_which_need_a_restart()
    {
        Assert.Equal(["crm.logging.level: changed", "crm.admin.bind: changed, needs a restart of the host"],
            Reports.RereadLines(new RereadResult([], [], [], ["crm.logging.level"], ["crm.admin.bind"])));
    }

    [Fact]
    public void Should_fail_update_when_one_of_its_lines_is_an_error()
    {
        Assert.Equal(0, Reports.UpdateExitCode(["reminder_worker: stopped", "reminder_worker: updated process group"]));
        Assert.Equal(0, Reports.UpdateExitCode([]));
        Assert.Equal(1, Reports.UpdateExitCode(["api: ERROR (no such program in this build)"]));
    }

    [Fact]
    public void Should_exit_as_supervisorctl_from_the_last_error_that_counts()
    {
        static CommandStep Step(bool ok, string message) => new(ok, message, "");
        Assert.Equal(0, Reports.ControlExitCode([Step(true, "stopped"), Step(true, "started")]));
        Assert.Equal(0, Reports.ControlExitCode([Step(false, "not running"), Step(true, "started")]));
        Assert.Equal(7, Reports.ControlExitCode([Step(false, "not running"), Step(false, "spawn error")]));
        Assert.Equal(1, Reports.ControlExitCode([Step(false, "no such process"), Step(false, "no such process")]));
        Assert.Equal(0, Reports.ControlExitCode([Step(false, "already started")]));
    }

    [Fact]
    public void Should_put_an_unhealthy_answer_on_one_line()
    {
        Assert.Equal("unhealthy: { \"status\": \"Unhealthy\" }", Reports.UnhealthyLine("{\n  \"status\": \"Unhealthy\"\n}\n", 503, "Service Unavailable"));
        Assert.Equal("unhealthy: 503 Service Unavailable", Reports.UnhealthyLine("", 503, "Service Unavailable"));
    }

    [Fact]
    public void Should_name_the_inner_cause_of_a_network_failure_once()
    {
        var failure = new HttpRequestException("An error occurred while sending the request.", new IOException("The response ended prematurely."));
        Assert.Equal("An error occurred while sending the request: The response ended prematurely", Reports.FailureReason(failure));
        Assert.Equal("Connection refused (127.0.0.1:9110)",
            Reports.FailureReason(new HttpRequestException("Connection refused (127.0.0.1:9110)", new System.Net.Sockets.SocketException(111))));
    }
}

public class ClusterReportTests
{
    [Fact]
    public void Should_print_one_member_a_line_as_Petabridge_Cmd_does_then_the_count()
    {
        var lines = Crm.Ctl.Reports.ClusterLines([
            new("akka.tcp://crm-actors@10.0.0.1:4053", ["crm"], "Up", true, "1.0.0", ["reminder_worker"]),
            new("akka.tcp://crm-actors@10.0.0.2:4053", ["crm"], "Up", false, "1.0.0", []),
        ]);
        Assert.Equal([
            "akka.tcp://crm-actors@10.0.0.1:4053 | [crm] | up | reachable | 1.0.0",
            "akka.tcp://crm-actors@10.0.0.2:4053 | [crm] | up | unreachable | 1.0.0",
            "Count: 2 nodes",
        ], lines);
    }

    [Theory]
    [InlineData("cluster show")]
    [InlineData("cluster leave akka.tcp://crm-actors@10.0.0.1:4053")]
    [InlineData("cluster down akka.tcp://crm-actors@10.0.0.1:4053")]
    public void Should_parse_the_cluster_commands(string line) =>
        Assert.IsType<Crm.Ctl.CtlCommand.Cluster>(Crm.Ctl.CtlCommand.Parse(line.Split(' ')));

    [Theory]
    [InlineData("cluster")]
    [InlineData("cluster leave")]
    [InlineData("cluster down 10.0.0.1:4053")]
    public void Should_refuse_a_cluster_command_without_an_address(string line) =>
        Assert.IsType<Crm.Ctl.CtlCommand.Invalid>(Crm.Ctl.CtlCommand.Parse(line.Split(' ')));
}
