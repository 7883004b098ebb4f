using Crm.Actors.Configuration;
using Crm.Actors.Processes;
using ConfigurationFactory = Akka.Configuration.ConfigurationFactory;

namespace Crm.Tests.Processes;

public class ProcessProgramSettingsTests
{
    private static readonly Dictionary<string, string> Environment = new() { ["API_PORT"] = "8000" };

    private static ProcessProgramSettings Read(string hocon, string name = "api") =>
        ProcessProgramSettings.Read(ConfigurationFactory.ParseString(hocon), name, here: "/etc/crm", environment: Environment, childLogDirectory: "/var/log/crm");

    [Fact]
    public void Should_read_a_process_program_from_crm_programs_with_supervisords_keys()
    {
        var api = Read("""
            crm.programs.default.autorestart = on
            crm.programs.api {
              command = "uvicorn main:app --host 0.0.0.0 --port %(ENV_API_PORT)s --reload"
              directory = /app
              environment { PYTHONUNBUFFERED = "1", APP = "%(program_name)s" }
              autorestart = unexpected
              exitcodes = [0, 3]
              stopsignal = INT
              stopasgroup = true
              redirect_stderr = true
              stdout_logfile = "%(here)s/api.log"
              stdout_logfile_maxbytes = 1MB
              stdout_logfile_backups = 2
              priority = 10
            }
            """);

        Assert.Equal(["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000", "--reload"], api.Arguments);
        Assert.Equal("/app", api.Directory);
        Assert.Equal(["PYTHONUNBUFFERED=1", "APP=api"], api.Environment.Select(p => $"{p.Key}={p.Value}"));
        Assert.Equal((AutoRestart.Unexpected, 2, true, true, true, 10), (api.AutoRestart, api.StopSignal, api.StopAsGroup, api.KillAsGroup, api.RedirectStderr, api.Priority));
        Assert.Equal([0, 3], api.ExitCodes);
        Assert.Equal(new LogFileSettings("/etc/crm/api.log", 1L << 20, 2), api.Stdout);
        Assert.Null(api.Stderr.Path);
    }

    [Fact]
    public void Should_take_supervisords_defaults_and_the_default_sections_autorestart()
    {
        var api = Read("""
            crm.programs.default.autorestart = off
            crm.programs.api.command = "/bin/sleep 60"
            """);

        Assert.Equal(AutoRestart.Never, api.AutoRestart); // crm.programs.default's
        Assert.Equal([0], api.ExitCodes);
        Assert.Equal((15, false, false, 999), (api.StopSignal, api.StopAsGroup, api.RedirectStderr, api.Priority));
        Assert.Equal(new LogFileSettings("/var/log/crm/api-stdout.log", 50L << 20, 10), api.Stdout);
        Assert.Equal(AutoRestart.Unexpected, Read("crm.programs.api.command = /bin/true").AutoRestart); // no default section: supervisord's
        Assert.Equal(["A=1", "B=x y"], Read("crm.programs.api { command = /bin/true, environment = \"A=1,B='x y'\" }").Environment.Select(p => $"{p.Key}={p.Value}"));
        Assert.Equal([0, 2], Read("crm.programs.api { command = /bin/true, exitcodes = \"0,2\" }").ExitCodes);
    }

    [Theory]
    [InlineData("crm.programs.api.stopsignal = FOO", "crm.programs.api.stopsignal", "FOO", "value 'FOO' is not a valid signal name")]
    [InlineData("crm.programs.api.autorestart = maybe", "crm.programs.api.autorestart", "maybe", "invalid 'autorestart' value 'maybe'")]
    [InlineData("crm.programs.default.autorestart = maybe", "crm.programs.default.autorestart", "maybe", "invalid 'autorestart' value 'maybe'")]
    [InlineData("crm.programs.api.exitcodes = [0, 300]", "crm.programs.api.exitcodes", "0,300", "not a valid list of exit codes")]
    [InlineData("crm.programs.api.stdout_logfile_maxbytes = lots", "crm.programs.api.stdout_logfile_maxbytes", "lots", "invalid literal")]
    [InlineData("crm.programs.api.redirect_stderr = perhaps", "crm.programs.api.redirect_stderr", "perhaps", "not a valid boolean value")]
    public void Should_exit_2_naming_the_key_and_value(string line, string key, string value, string reason)
    {
        var error = Assert.Throws<ConfigurationException>(() => Read($"crm.programs.api.command = /bin/true\n{line}"));
        Assert.Equal(key, error.Key);
        Assert.Contains($"{key} = '{value}'", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Should_exit_2_when_a_command_names_a_variable_that_is_not_set()
    {
        var error = Assert.Throws<ConfigurationException>(() => Read("crm.programs.api.command = \"uvicorn --port %(ENV_NOPE)s\""));
        Assert.Equal("crm.programs.api.command", error.Key);
        Assert.Contains("contains names ('ENV_NOPE') which cannot be expanded: set the environment variable NOPE", error.Message);
        Assert.Contains("does not specify a command", Assert.Throws<ConfigurationException>(() => Read("crm.programs.api.directory = /tmp")).Message);
    }
}
