using Crm.Tests.Support;

namespace Crm.Tests.Processes;

/// <summary>
/// SPEC §11 with a real host: a supervisord.conf (the CRM's own, with one key changed) that the host cannot honour
/// or that holds a bad value ends the start with exit 2 and one line naming the section and the key, before any
/// program runs; a process program written in HOCON likewise names its key.
/// </summary>
[Trait("Category", "Integration")]
public sealed class SupervisordConfBadSettingsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-badconf-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { }
    }

    private static string CrmConf => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "crm_supervisord.conf"));

    /// <summary>The CRM's file with its /app paths in the test's folder and <paramref name="change"/> applied to [program:api].</summary>
    private string Conf(Func<string, string> change)
    {
        Directory.CreateDirectory(Path.Combine(_folder, "logs"));
        var path = Path.Combine(_folder, "supervisord.conf");
        var text = CrmConf.Replace("/app", _folder, StringComparison.Ordinal);
        var api = text.IndexOf("[program:api]", StringComparison.Ordinal);
        var next = text.IndexOf("[program:", api + 1, StringComparison.Ordinal);
        File.WriteAllText(path, text[..api] + change(text[api..next]) + text[next..]);
        return path;
    }

    public static TheoryData<string, string, string, string> Cases => new()
    {
        // case, what is changed in [program:api] ("old" -> "new"), the API_PORT given (empty: none), what the line names
        { "a %(ENV_X)s that is not set", "", "", "[program:api] command" },
        { "another user than the host's", "user=root -> user=nobody", "8000", "[program:api] user" },
        { "startsecs not a number", "autostart=true -> autostart=true\nstartsecs=soon", "8000", "[program:api] startsecs" },
        { "autorestart not a choice", "autorestart=true -> autorestart=sometimes", "8000", "[program:api] autorestart" },
        { "a log folder that does not exist", "stdout_logfile=" + "{folder}/logs/api.log -> stdout_logfile={folder}/nowhere/api.log", "8000", "[program:api] stdout_logfile" },
        { "a byte size it cannot read", "stdout_logfile_maxbytes=10MB -> stdout_logfile_maxbytes=ten", "8000", "[program:api] stdout_logfile_maxbytes" },
        { "a signal it does not know", "autostart=true -> autostart=true\nstopsignal=BOGUS", "8000", "[program:api] stopsignal" },
        { "several processes", "autostart=true -> autostart=true\nnumprocs=2", "8000", "[program:api] numprocs" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Should_exit_2_naming_the_section_and_the_key(string @case, string change, string apiPort, string key)
    {
        var conf = Conf(section =>
        {
            if (change.Length == 0) return section;
            var (from, to) = (change.Split(" -> ")[0].Replace("{folder}", _folder), change.Split(" -> ")[1].Replace("{folder}", _folder));
            Assert.True(section.Contains(from, StringComparison.Ordinal), $"{@case}: [program:api] has no '{from}'");
            return section.Replace(from, to, StringComparison.Ordinal);
        });
        var environment = new Dictionary<string, string> { ["CRM_LOG_DIR"] = Path.Combine(_folder, "logs") };
        if (apiPort.Length > 0) environment["API_PORT"] = apiPort;

        var (code, output) = await HostProcess.RunAsync(["--supervisord-conf", conf, "--demo"], environment, TimeSpan.FromSeconds(60));

        Assert.True(code == 2, $"{@case}: exit {code}\n{output}");
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1 && lines[0].Contains(key, StringComparison.Ordinal), $"{@case}: expected one line naming {key}:\n{output}");
        Assert.DoesNotContain("STARTING", output); // nothing ran
    }

    [Fact]
    public async Task Should_exit_2_naming_the_file_it_cannot_read_and_a_hocon_process_programs_key()
    {
        var missing = await HostProcess.RunAsync(["--supervisord-conf", Path.Combine(_folder, "nope.conf"), "--demo"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("--supervisord-conf", missing.Output);

        var config = Ports.ConfigFile("""crm.programs.api { command = "sleep 1", stopsignal = BOGUS }""");
        var hocon = await HostProcess.RunAsync(["--config", config, "--demo"], timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, hocon.ExitCode);
        Assert.Contains("crm.programs.api.stopsignal", hocon.Output);
        var builtIn = await HostProcess.RunAsync(["--config", Ports.ConfigFile("""crm.programs.reminder_worker.command = "python -m workers.reminder_worker" """), "--demo"],
            timeout: TimeSpan.FromSeconds(60));
        Assert.Equal(2, builtIn.ExitCode);
        Assert.Contains("crm.programs.reminder_worker.command", builtIn.Output);
    }
}
