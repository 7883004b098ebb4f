using Crm.Actors.Configuration;

namespace Crm.Tests.Configuration;

public class SecretsTests
{
    [Theory]
    [InlineData("postgresql://crm:s3cret@db:5432/crm", "postgresql://crm:***@db:5432/crm")]
    [InlineData("postgresql://crm:s3cret@db:99999/crm", "postgresql://crm:***@db:99999/crm")]
    [InlineData("postgresql://crm:s3cret@db:abc/crm", "postgresql://crm:***@db:abc/crm")]
    [InlineData("postgresql://crm:s3c@ret@db/crm", "postgresql://crm:***@db/crm")]
    [InlineData("mysql://crm:s3cret@db/crm", "mysql://crm:***@db/crm")]
    [InlineData("crm:s3cret@db/crm", "crm:***@db/crm")]
    [InlineData("Host=db;Username=crm;Password=s3cret;Database=crm", "Host=db;Username=crm;Password=***;Database=crm")]
    [InlineData("postgresql://crm@db/crm?password=s3cret", "postgresql://crm@db/crm?password=***")]
    [InlineData("postgresql://crm@db/crm", "postgresql://crm@db/crm")]
    [InlineData("Rappel: {title} @ {time}", "Rappel: {title} @ {time}")]
    public void Should_hide_the_password_of_a_value_even_when_it_does_not_parse(string value, string shown)
    {
        Assert.Equal(shown, Secrets.Redact(value));
    }

    [Fact]
    public void Should_hide_a_password_quoted_in_free_text()
    {
        Assert.Equal("line 3: near 'postgresql://crm:***@db/crm' and password=*** here",
            Secrets.RedactText("line 3: near 'postgresql://crm:s3cret@db/crm' and password=hunter2 here"));
    }

    [Fact]
    public void Should_never_put_a_password_in_a_configuration_error()
    {
        var error = new ConfigurationException("crm.database.url", "postgresql://crm:s3cret@db:0/crm", "near postgresql://crm:s3cret@db");
        Assert.DoesNotContain("s3cret", error.Message);
        Assert.Contains("crm.database.url = 'postgresql://crm:***@db:0/crm'", error.Message);
    }
}
