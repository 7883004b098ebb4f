using System.Net;
using Akka.Hosting;
using Crm.Actors.Hosting;
using Crm.Ctl;
using Crm.Host;
using Crm.Host.Admin;
using Crm.Host.Logging;
using Crm.Host.Programs;
using Crm.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Tests.Programs;

/// <summary>
/// A program is one registration: the test-only program, with no configuration section of its own, gets its health
/// check, its crmctl verb and its place on the dashboard from <see cref="CrashOnCommandHosted"/> alone, through the
/// admin listener Program.cs builds (<see cref="AdminHosting"/>) and the real crmctl.
/// </summary>
public sealed class HostedProgramTests : IAsyncLifetime
{
    private readonly CrashOnCommandHosted _program = new();
    private readonly int _port = Ports.Free();
    private WebApplication _app = null!;

    public async Task InitializeAsync()
    {
        var settings = CrmSettings.Load($$"""
            crm.admin.bind = "127.0.0.1:{{_port}}"
            crm.programs.default { startsecs = 0s, stopwaitsecs = 2s }
            """, new Dictionary<string, string?>());
        var programs = new HostedPrograms().Add(_program);
        var config = new ConfigurationState(new CommandLine(null, Once: false, Migrate: false, Demo: false), settings, new Dictionary<string, string?>(), programs.Catalog);
        var definitions = config.Programs(settings);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, _port));
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(new LogRing(100));
        builder.Services.AddAkka(ClusterSettings.SystemName, akka => programs.AddActors(akka.WithRootSupervisor(definitions, durable: false)));
        builder.Services.AddCrmAdmin(programs);
        _app = builder.Build();
        _app.MapCrmAdmin(settings, programs);
        await _app.StartAsync();
        await Eventually.HoldsAsync(async () => (await CtlAsync("status")).Stdout.Contains("RUNNING"), TimeSpan.FromSeconds(20), "the program RUNNING");
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CtlApp.RunAsync(args, stdout, stderr, new Dictionary<string, string?> { [CtlApp.UrlVariable] = $"http://127.0.0.1:{_port}" });
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Should_give_a_program_without_a_section_its_verb_from_its_registration_alone()
    {
        Assert.Equal((0, "hello, Ana\n", ""), await CtlAsync("greet", "Ana"));
        Assert.Equal(2, (await CtlAsync("greet")).ExitCode); // its own usage error
        var help = await CtlAsync("help");
        Assert.Contains("  greet                            NAME: the program greets NAME (crash_on_command)\n", help.Stdout);
        Assert.DoesNotContain("scan-now", help.Stdout); // nothing of a program this host does not run
        Assert.Equal(2, (await CtlAsync("scan-now")).ExitCode);
    }

    [Fact]
    public async Task Should_give_a_program_its_health_check_from_its_registration_alone()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/health/greeting")).StatusCode);
        var programChecks = await http.GetStringAsync($"/health/programs/{CrashOnCommandProgram.ProgramName}");
        Assert.Contains("\"greeting\"", programChecks);
        Assert.Equal(0, (await CtlAsync("health")).ExitCode);

        _program.Sick = true;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync("/health/greeting")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync($"/health/programs/{CrashOnCommandProgram.ProgramName}")).StatusCode);
        var health = await CtlAsync("health");
        Assert.Equal(1, health.ExitCode);
        Assert.Contains("told to be sick", health.Stdout);
    }

    [Fact]
    public async Task Should_show_only_the_panels_of_the_programs_the_host_runs()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_port}") };
        var page = await http.GetStringAsync("/");
        Assert.Contains("data-program=\"crash_on_command\"", page);
        Assert.DoesNotContain("/panels/", page);
        Assert.Contains("id=\"summary\" aria-label=\"At a glance\" hidden", page);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/scans")).StatusCode);
    }
}
