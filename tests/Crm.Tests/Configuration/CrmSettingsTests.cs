using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;

namespace Crm.Tests.Configuration;

public class CrmSettingsTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Should_load_the_documented_defaults()
    {
        var settings = CrmSettings.Load(null, NoEnvironment);

        Assert.Equal(TimeSpan.FromMinutes(5), settings.Reminders.Interval);
        Assert.Equal(1000, settings.Reminders.BatchSize);
        Assert.Equal("Europe/Paris", settings.Reminders.Template.TimeZone.Id);
        Assert.Equal(("TASK_DUE", "HIGH"), (settings.Reminders.Template.NotificationType, settings.Reminders.Template.Priority));
        Assert.Equal(("Rappel: {title}", "Action prévue le {date} à {time}", "/dashboard/inbox?interaction_id={id}"),
            (settings.Reminders.Template.Title, settings.Reminders.Template.Message, settings.Reminders.Template.Link));
        Assert.Equal(new LoggingSettings("logs", 10 * 1000 * 1000, 3, "INFO", 500, "crm.logging.dir"), settings.Logging);
        Assert.Null(settings.Database.PostgresUrl);
        // The code's defaults, where tests start from, are the file's.
        Assert.Equal(ReminderSettings.Default with { Template = settings.Reminders.Template }, settings.Reminders with { Template = settings.Reminders.Template });
    }

    [Fact]
    public void Should_merge_a_config_file_over_the_defaults_and_DATABASE_URL_over_both()
    {
        var settings = CrmSettings.Load("""
            crm.reminders { interval = 30s, batch-size = 250, priority = urgent }
            crm.database.url = "postgresql://a@config/db"
            """, new Dictionary<string, string?> { ["DATABASE_URL"] = "postgresql://a@env/db", ["CRM_LOG_DIR"] = "/var/log/crm" });

        Assert.Equal((TimeSpan.FromSeconds(30), 250, "URGENT"),
            (settings.Reminders.Interval, settings.Reminders.BatchSize, settings.Reminders.Template.Priority));
        Assert.Equal(("postgresql://a@env/db", "DATABASE_URL"), (settings.Database.PostgresUrl, settings.Database.PostgresUrlKey));
        Assert.Equal(("/var/log/crm", "CRM_LOG_DIR"), (settings.Logging.Directory, settings.Logging.DirectoryKey));
        Assert.Equal(TimeSpan.FromMinutes(2), settings.Reminders.BatchTimeout); // untouched defaults
        Assert.Equal(TimeSpan.FromMilliseconds(500), settings.Reminders.HeldRecheck);
    }

    [Theory]
    [InlineData("crm.reminders.batch-size = abc", "crm.reminders.batch-size", "abc")]
    [InlineData("crm.reminders.batch-size = 0", "crm.reminders.batch-size", "0")]
    [InlineData("crm.reminders.interval = soon", "crm.reminders.interval", "soon")]
    [InlineData("crm.reminders.interval = -5s", "crm.reminders.interval", "-5s")]
    [InlineData("crm.reminders.time-zone = \"Mars/Olympus\"", "crm.reminders.time-zone", "Mars/Olympus")]
    [InlineData("crm.reminders.priority = SOMEDAY", "crm.reminders.priority", "SOMEDAY")]
    [InlineData("crm.reminders.notification-type = \"DROP TABLE\"", "crm.reminders.notification-type", "DROP TABLE")]
    [InlineData("crm.logging.max-bytes = lots", "crm.logging.max-bytes", "lots")]
    [InlineData("crm.logging.backups = -1", "crm.logging.backups", "-1")]
    [InlineData("crm.logging.level = LOUD", "crm.logging.level", "LOUD")]
    [InlineData("crm.reminders.title-template = \"\"", "crm.reminders.title-template", "")]
    [InlineData("crm.reminders.held-recheck = 10ms", "crm.reminders.held-recheck", "10ms")]
    public void Should_reject_an_invalid_value_naming_its_key_and_value(string hocon, string key, string value)
    {
        // The host's own keys are read by Load; a program's when it is defined from the configuration, at start too.
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(hocon, NoEnvironment) is var settings
            && settings.Reminders is not null && settings.OnceTimeout > TimeSpan.Zero);
        Assert.Equal(key, error.Key);
        Assert.Contains($"{key} = '{value}'", error.Message);
    }

    [Fact]
    public void Should_reject_a_file_that_HOCON_cannot_read()
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load("crm.reminders.interval = ${no-such-key}", NoEnvironment));
        Assert.Equal("--config", error.Key);
    }

    [Theory]
    [InlineData("crm.reminders {\n  interval = 30s\n", "line 1: '{' is never closed")]
    [InlineData("crm.reminders.interval = 30s\n\u0000\u0001\u0002", "line 2: control character U+0000")]
    public void Should_exit_2_naming_the_file_and_line_of_a_malformed_file(string escaped, string problem)
    {
        var text = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(text, NoEnvironment, "/etc/crm/crm.conf"));
        Assert.Equal("--config", error.Key);
        Assert.Contains($"--config = '/etc/crm/crm.conf': not valid HOCON: {problem}", error.Message);
    }

    [Fact]
    public void Should_exit_2_naming_a_config_file_that_cannot_be_read()
    {
        var folder = Directory.CreateTempSubdirectory("crm-config-").FullName;
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.LoadFile(folder, NoEnvironment));
        Assert.Contains($"--config = '{folder}': cannot be read", error.Message);
    }
}

public class DatabaseUrlTests
{
    [Theory]
    [InlineData("postgresql://crm:s3cret@db.internal:5433/crm", "db.internal", 5433, "crm", "crm", "s3cret")]
    [InlineData("postgres://crm@localhost/crm_prod", "localhost", 5432, "crm_prod", "crm", null)]
    [InlineData("postgresql+psycopg2://u:p%40ss%3Aword@h:6543/d", "h", 6543, "d", "u", "p@ss:word")]
    public void Should_read_the_CRMs_url_format(string url, string host, int port, string database, string user, string? password)
    {
        var builder = DatabaseUrl.Parse(url, "DATABASE_URL");
        Assert.Equal((host, port, database, user, password), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password));
    }

    [Fact]
    public void Should_understand_sslmode()
    {
        Assert.Equal(Npgsql.SslMode.Require, DatabaseUrl.Parse("postgresql://u@h/d?sslmode=require", "DATABASE_URL").SslMode);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("mysql://u:pw@h/d")]
    [InlineData("postgresql://u:pw@h/")]
    [InlineData("postgresql://u:pw@h/d?sslmode=sometimes")]
    [InlineData("postgresql://u:pw@h:99999/d")]
    [InlineData("postgresql://u:pw@h:abc/d")]
    [InlineData("postgresql://u:p@w@h/d")]
    [InlineData("postgresql://u@h/d?password=pw")]
    public void Should_reject_a_malformed_url_without_showing_its_password(string url)
    {
        var error = Assert.Throws<ConfigurationException>(() => DatabaseUrl.Parse(url, "DATABASE_URL"));
        Assert.Equal("DATABASE_URL", error.Key);
        Assert.DoesNotContain("pw", error.Message);
        Assert.DoesNotContain("p@w", error.Message);
    }

    [Theory]
    [InlineData("postgresql://u:pw@h:99999/d", "the port '99999' is not a number from 1 to 65535")]
    [InlineData("postgresql://u:pw@h:abc/d", "the port 'abc' is not a number from 1 to 65535")]
    [InlineData("postgresql://u:pw@h:0/d", "the port '0' is not a number from 1 to 65535")]
    [InlineData("postgresql://u:pw@h/d?connect_timeout=abc", "connect_timeout 'abc' is not a whole number of seconds from 0 to 1024")]
    [InlineData("postgresql://u:pw@h/d?connect_timeout=-5", "connect_timeout '-5' is not a whole number of seconds from 0 to 1024")]
    [InlineData("postgresql://u:pw@h/d?connect_timeout=5000", "connect_timeout '5000' is not a whole number of seconds from 0 to 1024")]
    public void Should_exit_2_naming_what_is_wrong_in_the_url(string url, string reason)
    {
        var error = Assert.Throws<ConfigurationException>(() => DatabaseUrl.Parse(url, "DATABASE_URL"));
        Assert.EndsWith(reason, error.Message);
        Assert.Contains("DATABASE_URL = 'postgresql://u:***@h", error.Message);
    }

    [Fact]
    public void Should_read_connect_timeout_in_seconds()
    {
        Assert.Equal(7, DatabaseUrl.Parse("postgresql://u@h/d?connect_timeout=7", "DATABASE_URL").Timeout);
    }

    [Fact]
    public void Should_describe_a_connection_without_its_password()
    {
        var builder = DatabaseUrl.Parse("postgresql://crm:s3cret@db:5432/crm", "DATABASE_URL");
        Assert.Equal("postgresql://crm@db:5432/crm", DatabaseUrl.Describe(builder));
        Assert.Equal("postgresql://crm:***@db:5432/crm", DatabaseUrl.Redact("postgresql://crm:s3cret@db:5432/crm"));
    }

    [Fact]
    public void Should_give_a_program_without_a_section_the_default_sections_keys_and_one_with_a_section_the_keys_it_leaves_out()
    {
        var settings = CrmSettings.Load("""
            crm.programs.default { startsecs = 2s, stopwaitsecs = 7s }
            crm.programs.reminder_worker { startsecs = 1s }
            """, new Dictionary<string, string?>());
        Assert.Equal((TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(7)), (settings.SupervisionOf("reminder_worker").StartSecs, settings.SupervisionOf("reminder_worker").StopWaitSecs));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(7)), (settings.SupervisionOf("unsectioned").StartSecs, settings.SupervisionOf("unsectioned").StopWaitSecs));
        Assert.DoesNotContain("default", settings.Programs.Keys);
    }

    [Fact]
    public void Should_name_the_key_the_operator_wrote_when_a_programs_value_is_bad()
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load("crm.programs.api.max-backoff = 10ms", new Dictionary<string, string?>()));
        Assert.Contains("crm.programs.api.max-backoff", error.Message);
        Assert.Contains("crm.programs.default.min-backoff", error.Message);
    }
}
