using Crm.Actors.Configuration;
using Crm.Actors.Processes;
using Crm.Actors.Supervision;

namespace Crm.Tests.Processes;

public class SupervisordConfigTests
{
    private static readonly Dictionary<string, string> Environment = new() { ["API_PORT"] = "8000", ["PATH"] = "/usr/bin:/bin", ["HOME"] = "/root" };

    internal static SupervisordReadOptions Options(string user = "root", uint uid = 0, IReadOnlyDictionary<string, string>? environment = null) =>
        new(environment ?? Environment, user, uid, ProgramSettings.Default);

    private static SupervisordConfig Parse(string text, SupervisordReadOptions? options = null) =>
        SupervisordConfig.Parse(text, "/etc/supervisor/supervisord.conf", options ?? Options());

    /// <summary>The CRM's own file, as the repository keeps it (tests/fixtures/crm_supervisord.conf).</summary>
    internal static string CrmConfPath()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var candidate = Path.Combine(folder.FullName, "tests", "fixtures", "crm_supervisord.conf");
            if (File.Exists(candidate)) return candidate;
        }
        throw new FileNotFoundException("tests/fixtures/crm_supervisord.conf not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Should_read_the_CRMs_own_supervisord_conf_unchanged()
    {
        var config = SupervisordConfig.Load(CrmConfPath(), Options());

        Assert.Equal(["api", "reminder_worker"], config.Programs.Select(p => p.Name));
        var api = config.Program("api")!.Process;
        Assert.Equal("uvicorn main:app --host 0.0.0.0 --port 8000 --reload --reload-delay 2", api.Command);
        Assert.Equal(["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000", "--reload", "--reload-delay", "2"], api.Arguments);
        Assert.Equal("/app", api.Directory);
        Assert.Equal([KeyValuePair.Create("PATH", "/usr/local/bin:/usr/bin:/bin"), KeyValuePair.Create("PYTHONUNBUFFERED", "1")], api.Environment);
        Assert.Equal(new LogFileSettings("/app/logs/api.log", 10L << 20, 3), api.Stdout);
        Assert.Equal(new LogFileSettings("/app/logs/api_error.log", 10L << 20, 3), api.Stderr);
        Assert.Equal((AutoRestart.Always, 15, false, false, false, 999), (api.AutoRestart, api.StopSignal, api.StopAsGroup, api.KillAsGroup, api.RedirectStderr, api.Priority));
        Assert.Equal([0], api.ExitCodes);

        // api leaves startsecs and the rest to supervisord's defaults; reminder_worker sets them (after its comment line).
        var apiSupervision = config.Program("api")!.Supervision;
        Assert.Equal((true, true, false, TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(10)),
            (apiSupervision.AutoStart, apiSupervision.AutoRestart, apiSupervision.AutoRestartUnexpectedOnly, apiSupervision.StartSecs, apiSupervision.StartRetries, apiSupervision.StopWaitSecs));
        var worker = config.Program("reminder_worker")!;
        Assert.Equal((TimeSpan.FromSeconds(10), 3, TimeSpan.FromSeconds(10)), (worker.Supervision.StartSecs, worker.Supervision.StartRetries, worker.Supervision.StopWaitSecs));
        Assert.Equal(["python", "-m", "workers.reminder_worker"], worker.Process.Arguments);

        Assert.Equal(["supervisord", "unix_http_server", "rpcinterface:supervisor", "supervisorctl", "program:api", "program:reminder_worker"],
            config.Sections.Select(s => s.Name));
        Assert.Contains(config.Notes, n => n.StartsWith("[unix_http_server] ignored", StringComparison.Ordinal));
        Assert.Contains(config.Notes, n => n.StartsWith("[rpcinterface:supervisor] ignored", StringComparison.Ordinal));
        Assert.Contains(config.Notes, n => n.StartsWith("[supervisorctl] ignored", StringComparison.Ordinal));
        Assert.Contains(config.Notes, n => n.StartsWith("[supervisord] logfile, pidfile ignored", StringComparison.Ordinal));
    }

    [Fact]
    public void Should_exit_2_naming_the_section_and_key_when_API_PORT_is_not_set()
    {
        var error = Assert.Throws<ConfigurationException>(() =>
            SupervisordConfig.Load(CrmConfPath(), Options(environment: new Dictionary<string, string> { ["PATH"] = "/usr/bin" })));

        Assert.Equal("[program:api] command", error.Key);
        Assert.Contains("'uvicorn main:app --host 0.0.0.0 --port %(ENV_API_PORT)s --reload --reload-delay 2'", error.Message);
        // supervisord 4.2.5's words for the same file: "... contains names ('ENV_API_PORT') which cannot be expanded."
        Assert.Contains("contains names ('ENV_API_PORT') which cannot be expanded: set the environment variable API_PORT", error.Message);
        Assert.Contains("crm_supervisord.conf", error.Message);
    }

    [Fact]
    public void Should_refuse_user_root_when_the_host_is_not_root_and_say_what_to_do()
    {
        var error = Assert.Throws<ConfigurationException>(() => SupervisordConfig.Load(CrmConfPath(), Options(user: "crm", uid: 1000)));

        Assert.Equal("[supervisord] user", error.Key);
        Assert.Contains("= 'root'", error.Message);
        Assert.Contains("Crm.Host runs as 'crm' and runs every program as that user: remove user= or set user=crm, or run Crm.Host as 'root'", error.Message);

        var program = Assert.Throws<ConfigurationException>(() => Parse("[program:api]\ncommand=/bin/true\nuser=root\n", Options(user: "crm", uid: 1000)));
        Assert.Equal("[program:api] user", program.Key);
        Assert.Equal("x", Parse("[program:x]\ncommand=/bin/true\nuser=1000\n", Options(user: "crm", uid: 1000)).Programs.Single().Name);
    }

    [Fact]
    public void Should_read_ini_as_pythons_RawConfigParser_with_supervisords_settings()
    {
        var config = Parse("""
            ; a comment
            # another
            [DEFAULT]
            stopsignal = INT

            [program:a]
            command = /bin/echo one ; an inline comment
            Directory: /tmp
            environment=A="1",
              B="2"
            stdout_logfile=/tmp/a.log#not a comment
            [program:b]
            command=/bin/echo two;not a comment
            [program:a]
            priority=5
            """);

        var a = config.Program("a")!.Process;
        Assert.Equal(["/bin/echo", "one"], a.Arguments);
        Assert.Equal("/tmp", a.Directory); // keys are lower case, ':' separates too
        Assert.Equal(["A=1", "B=2"], a.Environment.Select(p => $"{p.Key}={p.Value}")); // a continuation line
        Assert.Equal("/tmp/a.log#not a comment", a.Stdout.Path); // an inline '#' needs a blank before it
        Assert.Equal(2, a.StopSignal); // [DEFAULT] offers its values to every section
        Assert.Equal(5, a.Priority); // a repeated section adds to the first
        Assert.Equal(["/bin/echo", "two;not", "a", "comment"], config.Program("b")!.Process.Arguments);
        Assert.Equal(["a", "b"], config.Programs.Select(p => p.Name)); // by priority: a (5) before b (999)
    }

    [Fact]
    public void Should_take_supervisords_defaults_for_a_program_that_sets_only_its_command()
    {
        var program = Parse("[program:x]\ncommand=/bin/true\n").Programs.Single();
        var p = program.Process;

        Assert.Equal((AutoRestart.Unexpected, 15, false, false, false, 999, (string?)null), (p.AutoRestart, p.StopSignal, p.StopAsGroup, p.KillAsGroup, p.RedirectStderr, p.Priority, p.Directory));
        Assert.Equal([0], p.ExitCodes);
        Assert.Equal(new LogFileSettings(Path.Combine(Path.GetTempPath(), "x-stdout.log"), 50L << 20, 10), p.Stdout); // AUTO
        Assert.Equal(new LogFileSettings(Path.Combine(Path.GetTempPath(), "x-stderr.log"), 50L << 20, 10), p.Stderr);
        var s = program.Supervision;
        Assert.Equal((true, true, true, TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(10)),
            (s.AutoStart, s.AutoRestart, s.AutoRestartUnexpectedOnly, s.StartSecs, s.StartRetries, s.StopWaitSecs));
    }

    [Fact]
    public void Should_expand_program_name_here_and_the_programs_own_environment()
    {
        var config = SupervisordConfig.Parse("""
            [supervisord]
            childlogdir=/tmp
            [program:web]
            environment=PORT="9000"
            command=/bin/echo %(program_name)s %(here)s %(ENV_PORT)s %(ENV_HOME)s
            stdout_logfile=NONE
            redirect_stderr=true
            stderr_logfile=/tmp/ignored.log
            """, "/srv/conf/supervisord.conf", Options());

        var web = config.Program("web")!.Process;
        Assert.Equal(["/bin/echo", "web", "/srv/conf", "9000", "/root"], web.Arguments);
        Assert.Null(web.Stdout.Path);
        Assert.Null(web.Stderr.Path); // redirected: never a file of its own, as supervisord
        Assert.True(web.RedirectStderr);
    }

    [Fact]
    public void Should_put_AUTO_logs_in_childlogdir_under_stable_names()
    {
        var folder = Directory.CreateTempSubdirectory("crm-childlogdir-").FullName;
        var config = Parse($"[supervisord]\nchildlogdir={folder}\n[program:api]\ncommand=/bin/true\n");
        Assert.Equal(Path.Combine(folder, "api-stdout.log"), config.Program("api")!.Process.Stdout.Path);
        Assert.Equal(Path.Combine(folder, "api-stderr.log"), config.Program("api")!.Process.Stderr.Path);
    }

    /// <summary>The value supervisord refuses is refused, named by section and key; so is what it accepts and we cannot honour.</summary>
    [Theory]
    [InlineData("stopwaitsecs=abc", "stopwaitsecs", "abc", "invalid literal for int() with base 10: 'abc'")]
    [InlineData("stopwaitsecs=10s", "stopwaitsecs", "10s", "invalid literal for int() with base 10: '10s'")]
    [InlineData("stopwaitsecs=-1", "stopwaitsecs", "-1", "0 or more")]
    [InlineData("startsecs=-1", "startsecs", "-1", "0 or more")]
    [InlineData("startretries=x", "startretries", "x", "invalid literal")]
    [InlineData("stopsignal=FOO", "stopsignal", "FOO", "value 'FOO' is not a valid signal name")]
    [InlineData("stdout_logfile_maxbytes=10XB", "stdout_logfile_maxbytes", "10XB", "invalid literal for int() with base 10: '10xb'")]
    [InlineData("stdout_logfile_backups=-1", "stdout_logfile_backups", "-1", "expected 0 or more")]
    [InlineData("autorestart=maybe", "autorestart", "maybe", "invalid 'autorestart' value 'maybe'")]
    [InlineData("exitcodes=256", "exitcodes", "256", "not a valid list of exit codes: '256'")]
    [InlineData("autostart=Y", "autostart", "Y", "not a valid boolean value: 'Y'")]
    [InlineData("priority=high", "priority", "high", "invalid literal for int() with base 10: 'high'")]
    [InlineData("environment=A=1,B", "environment", "A=1,B", "Unexpected end of key/value pairs in value 'A=1,B'")]
    [InlineData("stopasgroup=true\nkillasgroup=false", "killasgroup", "false", "Cannot set stopasgroup=true and killasgroup=false")]
    [InlineData("numprocs=2", "numprocs", "2", "one process per program: remove numprocs")]
    [InlineData("process_name=%(program_name)s_%(process_num)02d", "process_name", "%(program_name)s_%(process_num)02d", "it names 'api_00', not 'api'")]
    [InlineData("process_name=web", "process_name", "web", "a process is named after its program here: remove process_name")]
    [InlineData("umask=022", "umask", "022", "umask cannot be set for a child here")]
    [InlineData("stdout_syslog=true", "stdout_syslog", "true", "syslog is not supported")]
    [InlineData("stdout_logfile=syslog", "stdout_logfile", "syslog", "syslog is not supported")]
    [InlineData("autostrat=true", "autostrat", "true", "unknown key; did you mean autostart?")]
    [InlineData("directory=%(ENV_NOPE)s", "directory", "%(ENV_NOPE)s", "contains names ('ENV_NOPE') which cannot be expanded")]
    public void Should_exit_2_naming_section_key_and_value(string line, string key, string value, string reason)
    {
        var error = Assert.Throws<ConfigurationException>(() => Parse($"[program:api]\ncommand=/bin/true\n{line}\n"));
        Assert.Equal($"[program:api] {key}", error.Key);
        Assert.Contains($"[program:api] {key} = '{value}'", error.Message);
        Assert.Contains(reason, error.Message);
        Assert.Contains("(file: /etc/supervisor/supervisord.conf)", error.Message);
    }

    [Theory]
    [InlineData("[program:api]\ncommand=/bin/echo 'a\n", "[program:api] command", "can't parse command '/bin/echo 'a': No closing quotation")]
    [InlineData("[program:api]\ncommand=\n", "[program:api] command", "command is empty")]
    [InlineData("[program:api]\nautostart=true\n", "[program:api] command", "program section api does not specify a command")]
    [InlineData("[include]\nfiles=conf.d/*.conf\n", "[include] files", "included files are not read")]
    [InlineData("[group:web]\nprograms=api,worker\n", "[group:web] programs", "groups of programs are not supported")]
    [InlineData("[eventlistener:mem]\ncommand=memmon\n", "[eventlistener:mem] command", "sections are not supported")]
    [InlineData("command=/bin/true\n", "/etc/supervisor/supervisord.conf line 1", "File contains no section headers")]
    [InlineData("[program:api]\njust words\n", "/etc/supervisor/supervisord.conf line 2", "File contains parsing errors")]
    public void Should_exit_2_on_a_file_it_cannot_run(string text, string key, string reason)
    {
        var error = Assert.Throws<ConfigurationException>(() => Parse(text));
        Assert.Equal(key, error.Key);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Should_check_that_log_folders_exist_as_supervisord_does_when_asked()
    {
        var api = Parse("[program:api]\ncommand=/bin/true\nstdout_logfile=/nonexistent-crm/api.log\n").Program("api")!.Process;
        var error = Assert.Throws<ConfigurationException>(() => api.CheckPaths(key => $"[program:api] {key}"));
        Assert.Equal("[program:api] stdout_logfile", error.Key);
        // supervisord (stdout_logfile=/nonexistent/x.log): "The directory named as part of the path /nonexistent/x.log does not exist"
        Assert.Contains("The directory named as part of the path /nonexistent-crm/api.log does not exist", error.Message);
    }

    [Fact]
    public void Should_read_the_same_file_twice_as_equal_settings()
    {
        var text = File.ReadAllText(CrmConfPath());
        Assert.Equal(Parse(text).Program("api")!.Process, Parse(text).Program("api")!.Process);
        Assert.NotEqual(Parse(text).Program("api")!.Process, Parse(text.Replace("--reload-delay 2", "--reload-delay 3")).Program("api")!.Process);
    }
}
