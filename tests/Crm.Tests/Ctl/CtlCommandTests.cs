using Crm.Ctl;

namespace Crm.Tests.Ctl;

public class CtlCommandTests
{
    private static CtlCommand Parse(string line) => CtlCommand.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries));

    [Fact]
    public void Should_parse_tail_with_follow_and_the_stderr_log()
    {
        Assert.Equal(new CtlCommand.Tail("reminder_worker", "stderr", Follow: true, Bytes: 1600), Parse("tail -f reminder_worker stderr"));
    }

    [Fact]
    public void Should_tail_the_last_1600_bytes_of_stdout_by_default()
    {
        Assert.Equal(new CtlCommand.Tail("reminder_worker", "stdout", Follow: false, Bytes: 1600), Parse("tail reminder_worker"));
    }

    [Fact]
    public void Should_take_a_byte_count_as_supervisorctl_does()
    {
        Assert.Equal(new CtlCommand.Tail("reminder_worker", "stdout", Follow: false, Bytes: 5000), Parse("tail -5000 reminder_worker stdout"));
    }

    [Fact]
    public void Should_parse_status_with_and_without_names()
    {
        Assert.Equal([], Assert.IsType<CtlCommand.Status>(Parse("status")).Names);
        Assert.Equal(["reminder_worker", "api"], Assert.IsType<CtlCommand.Status>(Parse("status reminder_worker api")).Names);
        Assert.Equal([], Assert.IsType<CtlCommand.Status>(Parse("status all")).Names);
    }

    [Theory]
    [InlineData("start")]
    [InlineData("stop")]
    [InlineData("restart")]
    public void Should_parse_the_control_verbs_with_their_names_in_order(string verb)
    {
        var one = Assert.IsType<CtlCommand.Control>(Parse($"{verb} reminder_worker"));
        Assert.Equal(verb, one.Verb);
        Assert.Equal(["reminder_worker"], one.Names);
        var several = Assert.IsType<CtlCommand.Control>(Parse($"{verb} reminder_worker:b api reminder_worker:a"));
        Assert.Equal(["reminder_worker:b", "api", "reminder_worker:a"], several.Names);
        Assert.IsType<CtlCommand.Invalid>(Parse(verb));
    }

    [Fact]
    public void Should_parse_the_commands_without_arguments_and_the_two_word_ones()
    {
        Assert.Empty(Assert.IsType<CtlCommand.Pid>(Parse("pid")).Names);
        Assert.Equal(["api", "all"], Assert.IsType<CtlCommand.Pid>(Parse("pid api all")).Names);
        var signal = Assert.IsType<CtlCommand.Signal>(Parse("signal HUP api reminder_worker:*"));
        Assert.Equal("HUP", signal.SignalName);
        Assert.Equal(["api", "reminder_worker:*"], signal.Names);
        Assert.IsType<CtlCommand.Reread>(Parse("reread"));
        Assert.IsType<CtlCommand.Update>(Parse("update"));
        Assert.Equal("scan-now", Assert.IsType<CtlCommand.ProgramVerb>(Parse("scan-now")).Verb);
        Assert.IsType<CtlCommand.Health>(Parse("health"));
        Assert.IsType<CtlCommand.Help>(Parse("help"));
        Assert.IsType<CtlCommand.ActorHierarchy>(Parse("actor hierarchy"));
        Assert.Equal(new CtlCommand.LogPeek(100), Parse("log peek"));
        Assert.Equal(new CtlCommand.LogPeek(20), Parse("log peek 20"));
        Assert.Equal(new CtlCommand.Events(null), Parse("events"));
        Assert.Equal(new CtlCommand.Events("reminder_worker"), Parse("events reminder_worker"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("Frobnicate")]
    [InlineData("start")]
    [InlineData("stop a -x")]
    [InlineData("restart -f")]
    [InlineData("tail")]
    [InlineData("tail reminder_worker sideways")]
    [InlineData("tail -x reminder_worker")]
    [InlineData("tail -f -f reminder_worker")]
    [InlineData("tail a b c")]
    [InlineData("pid -x")]
    [InlineData("signal HUP")]
    [InlineData("signal")]
    [InlineData("actor tree")]
    [InlineData("actor")]
    [InlineData("log peek 0")]
    [InlineData("log peek many")]
    [InlineData("events a b")]
    [InlineData("status --all")]
    public void Should_refuse_bad_usage_with_a_reason(string line)
    {
        var invalid = Assert.IsType<CtlCommand.Invalid>(Parse(line));
        Assert.False(string.IsNullOrWhiteSpace(invalid.Reason));
    }
}
