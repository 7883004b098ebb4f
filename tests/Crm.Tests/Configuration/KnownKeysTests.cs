using ConfigurationFactory = Akka.Configuration.ConfigurationFactory;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Tests.Configuration;

public class KnownKeysTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Theory]
    [InlineData("crm.reminders.intervall = 5m", "crm.reminders.intervall", "5m", "did you mean crm.reminders.interval?")]
    [InlineData("crm.reminder.batch-size = 100", "crm.reminder.batch-size", "100", "did you mean crm.reminders.batch-size?")]
    [InlineData("crm.reminders.startsecs = 1s", "crm.reminders.startsecs", "1s", "did you mean crm.programs.default.startsecs?")]
    [InlineData("crm.loging { dir = /tmp }", "crm.loging.dir", "/tmp", "did you mean crm.logging.dir?")]
    [InlineData("crm.programs.reminder_worker.startsec = 1s", "crm.programs.reminder_worker.startsec", "1s", "did you mean crm.programs.reminder_worker.startsecs?")]
    [InlineData("crm.programs.mailer.autostrat = on", "crm.programs.mailer.autostrat", "on", "did you mean crm.programs.mailer.autostart?")]
    [InlineData("crm.reminders = 5m", "crm.reminders", "5m", "is a section, not a value")]
    [InlineData("crm.programs.mailer = on", "crm.programs.mailer", "on", "such as crm.programs.mailer.autorestart")]
    [InlineData("crm.nothing {}", "crm.nothing", "{...}", "unknown key")]
    public void Should_exit_2_naming_an_unknown_key_under_crm_and_the_closest_known_one(string hocon, string key, string value, string advice)
    {
        var error = Assert.Throws<ConfigurationException>(() => CrmSettings.Load(hocon, NoEnvironment));
        Assert.Equal(key, error.Key);
        Assert.Contains($"{key} = '{value}'", error.Message);
        Assert.Contains(advice, error.Message);
    }

    [Theory]
    [InlineData("akka.loglevel = DEBUG\nakka.anything.goes = 1")]
    [InlineData("crm.reminders {}")]
    [InlineData("crm.programs.reminder_worker { startsecs = 1s }")]
    public void Should_accept_documented_keys_empty_sections_and_Akkas_keys(string hocon)
    {
        CrmSettings.Load(hocon, NoEnvironment);
    }

    [Fact]
    public void Should_accept_a_program_of_any_name_with_the_program_keys()
    {
        var settings = CrmSettings.Load("""
            crm.programs.mailer {
              autostart = off, autorestart = on, startsecs = 1s, startretries = 3, stopwaitsecs = 10s
              min-backoff = 1s, max-backoff = 30s, random-factor = 0.2, fatal-retry-after = off, outage-backoff = 10s
              start-timeout = 30s
            }
            """, NoEnvironment);
        Assert.False(settings.Programs["mailer"].AutoStart);
    }

    [Fact]
    public void Should_check_keys_against_the_documented_file_not_a_copy()
    {
        var known = new HashSet<string> { "crm.a.b", "crm.programs.default.x" };
        Assert.Null(KnownKeys.Problem("crm.a.b", isSection: false, known));
        Assert.Null(KnownKeys.Problem("crm.programs.any.x", isSection: false, known));
        Assert.Equal("unknown key; did you mean crm.a.b?", KnownKeys.Problem("crm.a.c", isSection: false, known));
    }

    [Theory]
    [InlineData("interval", "intervall", 1)]
    [InlineData("batch-size", "batchsize", 1)]
    [InlineData("", "abc", 3)]
    [InlineData("kitten", "sitting", 3)]
    [InlineData("{titel}", "{title}", 1)]
    public void Should_measure_the_edit_distance_between_two_keys(string a, string b, int distance)
    {
        Assert.Equal(distance, KnownKeys.Distance(a, b));
        Assert.Equal(distance, KnownKeys.Distance(b, a));
    }

    [Fact]
    public void Should_list_every_documented_key_as_known()
    {
        var defaults = CrmSettings.Defaults();
        KnownKeys.Check(defaults, defaults); // the defaults themselves pass
        Assert.Throws<ConfigurationException>(() => KnownKeys.Check(ConfigurationFactory.ParseString("crm.x = 1"), defaults));
    }
}
