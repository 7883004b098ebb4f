using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Tests.Configuration;

/// <summary>Docker's and Kubernetes' secrets: CRM_ADMIN_TOKEN_FILE and DATABASE_URL_FILE (SPEC §7).</summary>
public class SecretFilesTests
{
    private static string FileWith(string text)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-secret-").FullName, "secret");
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void Should_read_the_database_url_and_the_admin_token_from_their_files_without_the_last_line_break()
    {
        var settings = CrmSettings.Load(null, new Dictionary<string, string?>
        {
            ["DATABASE_URL_FILE"] = FileWith("postgresql://crm:pa55@db:5432/crm\n"),
            ["CRM_ADMIN_TOKEN_FILE"] = FileWith("t0ken from a file\r\n"),
        });
        Assert.Equal("postgresql://crm:pa55@db:5432/crm", settings.Database.PostgresUrl);
        Assert.Equal("DATABASE_URL", settings.Database.PostgresUrlKey);
        Assert.Equal("t0ken from a file", settings.Admin.Token?.Reveal());
    }

    [Fact]
    public void Should_never_print_the_token_held_in_the_settings()
    {
        var admin = CrmSettings.Load(null, new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = "s3cret-token" }).Admin;
        Assert.DoesNotContain("s3cret-token", admin.ToString());
        Assert.Contains("Token = ***", admin.ToString());
    }

    [Theory]
    [InlineData("DATABASE_URL")]
    [InlineData("CRM_ADMIN_TOKEN")]
    public void Should_refuse_a_variable_set_both_directly_and_from_a_file(string name)
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(null, new Dictionary<string, string?>
        {
            [name] = "postgresql://crm:direct@db/crm",
            [name + "_FILE"] = FileWith("from-the-file"),
        }));
        Assert.Equal(name + "_FILE", error.Key);
        Assert.Contains($"{name} is set as well: set one of them, not both", error.Message);
        Assert.DoesNotContain("direct", error.Message);
        Assert.DoesNotContain("from-the-file", error.Message);
    }

    [Theory]
    [InlineData("DATABASE_URL_FILE")]
    [InlineData("CRM_ADMIN_TOKEN_FILE")]
    public void Should_refuse_a_secret_file_that_cannot_be_read_or_is_empty_naming_it(string variable)
    {
        var missing = Path.Combine(Directory.CreateTempSubdirectory("crm-secret-").FullName, "missing");
        var unreadable = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(null, new Dictionary<string, string?> { [variable] = missing }));
        Assert.Equal(variable, unreadable.Key);
        Assert.Contains($"{variable} = '{missing}': cannot be read", unreadable.Message);

        var empty = FileWith("\n");
        var blank = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(null, new Dictionary<string, string?> { [variable] = empty }));
        Assert.Equal(variable, blank.Key);
        Assert.EndsWith("the file is empty", blank.Message);
    }

    [Theory]
    [InlineData("crm.admin.tls.certificate = \"/etc/crm/admin.pem\"", "crm.admin.tls.key")]
    [InlineData("crm.admin.tls.key = \"/etc/crm/admin.key\"", "crm.admin.tls.certificate")]
    public void Should_refuse_a_tls_certificate_without_its_key_and_the_reverse(string hocon, string missing)
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(hocon, new Dictionary<string, string?>()));
        Assert.Equal(missing, error.Key);
        Assert.Contains("both PEM files, or neither", error.Message);
    }

    [Fact]
    public void Should_read_the_tls_files_and_serve_https()
    {
        var admin = CrmSettings.Load("crm.admin.tls { certificate = \"/etc/crm/admin.pem\", key = \"/etc/crm/admin.key\" }", new Dictionary<string, string?>()).Admin;
        Assert.Equal(new AdminTlsSettings("/etc/crm/admin.pem", "/etc/crm/admin.key"), admin.Tls);
        Assert.Equal("https", admin.Scheme);
        Assert.Equal("http", CrmSettings.Load(null, new Dictionary<string, string?>()).Admin.Scheme);
    }
}
