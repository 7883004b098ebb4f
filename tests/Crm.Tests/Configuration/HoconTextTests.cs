using Crm.Actors.Configuration;

namespace Crm.Tests.Configuration;

public class HoconTextTests
{
    [Theory]
    [InlineData("crm.reminders {\n  interval = 5m\n", 1, "'{' is never closed")]
    [InlineData("crm.reminders { interval = 5m }\n}", 2, "'}' closes nothing")]
    [InlineData("a = [1, 2\nb = 3", 1, "'[' is never closed")]
    [InlineData("a { b = [1 }\n", 1, "'}' closes the '[' of line 1")]
    [InlineData("a = \"open\nb = 1", 1, "quoted string is not closed")]
    [InlineData("a = \"\"\"open\n\nb = 1", 1, "\"\"\" string is never closed")]
    [InlineData("a = ${b\n", 1, "substitution is not closed")]
    [InlineData("a = 1\n\u0000\u0001", 2, "control character U+0000")]
    [InlineData("a = 1\nb = \uFFFD\uFFFD", 2, "not UTF-8")]
    public void Should_find_what_Akkas_parser_lets_through(string text, int line, string problem)
    {
        var found = HoconText.Problem(text);
        Assert.NotNull(found);
        Assert.Equal(line, found.Value.Line);
        Assert.Contains(problem, found.Value.Problem);
    }

    [Theory]
    [InlineData("crm.reminders { interval = 5m }")]
    [InlineData("# a { comment\n// another [ one\na = 1")]
    [InlineData("a = \"a } in a string\", b = \"\\\"{\"")]
    [InlineData("a = \"\"\"multi\n{ line\"\"\"\nb { c = 1 }")]
    [InlineData("a = 1\nb = ${a}\nc = ${?HOME}")]
    [InlineData("a = [1, 2]\r\n\tb { }")]
    [InlineData("crm.reminders.message-template = \"Action prévue le {date} à {time}\"")]
    public void Should_accept_well_formed_HOCON(string text)
    {
        Assert.Null(HoconText.Problem(text));
    }
}
