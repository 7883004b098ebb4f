using Crm.Actors.Reminders;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Tests.Configuration;

public class TemplatePlaceholdersTests
{
    [Theory]
    [InlineData("Rappel: {title}")]
    [InlineData("Action prévue le {date} à {time}")]
    [InlineData("/interactions/{id}")]
    [InlineData("no placeholder at all")]
    public void Should_accept_the_known_placeholders(string template)
    {
        Assert.Null(TemplatePlaceholders.Problem(template));
    }

    [Theory]
    [InlineData("Rappel: {foo}", "unknown placeholder {foo}; the placeholders are {title}, {id}, {date}, {time}")]
    [InlineData("Rappel: {titel}", "did you mean {title}?")]
    [InlineData("Rappel: {Title}", "did you mean {title}?")]
    [InlineData("Rappel: {title", "the placeholder '{title' is not closed")]
    [InlineData("Rappel: {ti{title}", "the placeholder '{ti' is not closed")]
    [InlineData("Rappel: title}", "closes no placeholder")]
    public void Should_name_an_unknown_placeholder(string template, string problem)
    {
        Assert.Contains(problem, TemplatePlaceholders.Problem(template));
    }

    [Fact]
    public void Should_exit_2_naming_the_template_key_and_value_when_a_placeholder_is_unknown()
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            CrmSettings.Load("crm.reminders.link-template = \"/i/{foo}\"", new Dictionary<string, string?>()).Reminders);
        Assert.Equal("crm.reminders.link-template", error.Key);
        Assert.Contains("crm.reminders.link-template = '/i/{foo}': unknown placeholder {foo}", error.Message);
    }
}
