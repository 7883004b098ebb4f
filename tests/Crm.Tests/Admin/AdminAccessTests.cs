using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Akka.Hosting;
using Crm.Actors.Hosting;
using Crm.Ctl;
using Crm.Host;
using Crm.Host.Admin;
using Crm.Host.Logging;
using Crm.Host.Programs;
using Crm.Tests.Programs;
using Crm.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Crm.Tests.Admin;

/// <summary>
/// The admin listener beyond loopback (SPEC §5): only /health/* and /metrics without CRM_ADMIN_TOKEN. The rules as
/// pure decisions, then the listener Program.cs builds (<see cref="AdminHosting"/>, <see cref="AdminListenerCheck"/>)
/// in-process with the test-only program, reached from loopback and from this machine's other address.
/// </summary>
public class AdminAccessTests
{
    private const string Token = "t0ken-beyond-loopback";

    [Theory]
    [InlineData("/health/live", AdminAccess.Decision.Allow)]
    [InlineData("/health/programs/reminder_worker", AdminAccess.Decision.Allow)]
    [InlineData("/HEALTH/ready", AdminAccess.Decision.Allow)]
    [InlineData("/metrics", AdminAccess.Decision.Allow)]
    [InlineData("/login", AdminAccess.Decision.Allow)]
    [InlineData("/dashboard.css", AdminAccess.Decision.Allow)]
    [InlineData("/", AdminAccess.Decision.Unauthorized)]
    [InlineData("/dashboard.js", AdminAccess.Decision.Unauthorized)]
    [InlineData("/panels/reminder_worker.js", AdminAccess.Decision.Unauthorized)]
    [InlineData("/api/programs", AdminAccess.Decision.Unauthorized)]
    [InlineData("/api/logs/reminder_worker", AdminAccess.Decision.Unauthorized)]
    [InlineData("/api/events", AdminAccess.Decision.Unauthorized)]
    [InlineData("/healthz", AdminAccess.Decision.Unauthorized)]
    [InlineData("/metrics/extra", AdminAccess.Decision.Unauthorized)]
    [InlineData("/nope", AdminAccess.Decision.Unauthorized)]
    public void Should_serve_only_health_and_metrics_beyond_loopback_without_the_token(string path, AdminAccess.Decision expected)
    {
        Assert.Equal(expected, AdminAccess.Decide(loopbackListener: false, hostHasToken: true, path, credentialPresented: false));
        Assert.Equal(AdminAccess.Decision.Allow, AdminAccess.Decide(loopbackListener: false, hostHasToken: true, path, credentialPresented: true));
        Assert.Equal(expected == AdminAccess.Decision.Allow ? AdminAccess.Decision.Allow : AdminAccess.Decision.Forbidden,
            AdminAccess.Decide(loopbackListener: false, hostHasToken: false, path, credentialPresented: false));
        Assert.Equal(AdminAccess.Decision.Allow, AdminAccess.Decide(loopbackListener: true, hostHasToken: true, path, credentialPresented: false));
    }

    [Fact]
    public void Should_keep_a_session_until_it_ends_and_void_it_when_the_token_changes()
    {
        var now = DateTimeOffset.UtcNow;
        var session = AdminSession.Issue(Token, now);
        Assert.DoesNotContain(Token, session);
        Assert.True(AdminSession.IsValid(session, Token, now));
        Assert.True(AdminSession.IsValid(session, Token, now + AdminSession.Lifetime - TimeSpan.FromSeconds(1)));
        Assert.False(AdminSession.IsValid(session, Token, now + AdminSession.Lifetime + TimeSpan.FromSeconds(1)));
        Assert.False(AdminSession.IsValid(session, "another-token", now));
        var expires = session[..session.IndexOf('.')];
        Assert.False(AdminSession.IsValid((long.Parse(expires) + 3600) + session[session.IndexOf('.')..], Token, now)); // a later expiry, same MAC
        Assert.False(AdminSession.IsValid("", Token, now));
        Assert.False(AdminSession.IsValid("garbage", Token, now));
    }

    [Fact]
    public void Should_take_the_session_cookie_for_a_command_only_with_the_dashboards_header()
    {
        var cookie = $"{AdminSession.CookieName}={AdminSession.Issue(Token, DateTimeOffset.UtcNow)}";
        HttpRequest Request(string method, bool dashboardHeader, string? authorization = null, string? cookieHeader = null)
        {
            var context = new DefaultHttpContext();
            context.Request.Method = method;
            if (cookieHeader is not null) context.Request.Headers.Cookie = cookieHeader;
            if (dashboardHeader) context.Request.Headers[AdminAccess.DashboardHeader] = "1";
            if (authorization is not null) context.Request.Headers.Authorization = authorization;
            return context.Request;
        }
        var now = DateTimeOffset.UtcNow;
        Assert.True(AdminAccess.Presents(Request("GET", false, cookieHeader: cookie), Token, now));
        Assert.False(AdminAccess.Presents(Request("POST", false, cookieHeader: cookie), Token, now)); // another site's form
        Assert.True(AdminAccess.Presents(Request("POST", true, cookieHeader: cookie), Token, now));
        Assert.True(AdminAccess.Presents(Request("POST", false, authorization: $"Bearer {Token}"), Token, now));
        Assert.False(AdminAccess.Presents(Request("GET", false, authorization: "Bearer guess"), Token, now));
        Assert.False(AdminAccess.Presents(Request("GET", true), Token, now));
    }

    [Fact]
    public void Should_say_that_a_changed_token_or_certificate_applies_only_at_the_hosts_next_start()
    {
        var tls = "crm.admin.tls { certificate = \"/etc/crm/admin.pem\", key = \"/etc/crm/admin.key\" }";
        var current = CrmSettings.Load(tls, new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token });
        Assert.Empty(ConfigurationState.HostChanges(current, CrmSettings.Load(tls, new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token })).NeedRestart);
        var rotated = CrmSettings.Load(tls, new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = "rotated" });
        Assert.Equal(["CRM_ADMIN_TOKEN"], ConfigurationState.HostChanges(current, rotated).NeedRestart);
        var plain = CrmSettings.Load(null, new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token });
        Assert.Equal(["crm.admin.tls"], ConfigurationState.HostChanges(current, plain).NeedRestart);
    }

    /// <summary>This machine's first IPv4 address that is not loopback, when it has one.</summary>
    internal static IPAddress? NonLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(i => i.OperationalStatus == OperationalStatus.Up && i.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(i => i.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));

    /// <summary>The admin listener as Program.cs builds it, in-process, with the test-only program.</summary>
    internal sealed class Listener : IAsyncDisposable
    {
        public required WebApplication App { get; init; }
        public required int Port { get; init; }
        public required string Scheme { get; init; }

        public static async Task<Listener> StartAsync(string bind, IReadOnlyDictionary<string, string?> environment, string hocon = "")
        {
            var port = Ports.Free();
            var settings = CrmSettings.Load($$"""
                crm.admin.bind = "{{bind}}:{{port}}"
                crm.programs.default { startsecs = 0s, stopwaitsecs = 2s }
                {{hocon}}
                """, environment);
            var programs = new HostedPrograms().Add(new CrashOnCommandHosted());
            var config = new ConfigurationState(new CommandLine(null, Once: false, Migrate: false, Demo: false), settings, environment, programs.Catalog);
            var definitions = config.Programs(settings);
            AdminListenerCheck.EnsureAvailable(settings.Admin);

            var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
            builder.WebHost.UseCrmAdminListener(settings.Admin);
            builder.Services.AddSingleton(config);
            builder.Services.AddSingleton(new LogRing(100));
            builder.Services.AddAkka(ClusterSettings.SystemName, akka => programs.AddActors(akka.WithRootSupervisor(definitions, durable: false)));
            builder.Services.AddCrmAdmin(programs);
            var app = builder.Build();
            app.MapCrmAdmin(settings, programs);
            await app.StartAsync();
            return new Listener { App = app, Port = port, Scheme = settings.Admin.Scheme };
        }

        public HttpClient Client(IPAddress? address = null, HttpMessageHandler? handler = null) =>
            new(handler ?? new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false })
            {
                BaseAddress = new Uri($"{Scheme}://{(address ?? IPAddress.Loopback) switch { var a when a.AddressFamily == AddressFamily.InterNetworkV6 => $"[{a}]", var a => a.ToString() }}:{Port}"),
            };

        public async ValueTask DisposeAsync()
        {
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    private static readonly string[] Refused = ["/", "/dashboard.js", $"/panels/{CrashOnCommandProgram.ProgramName}.js", "/api/programs",
        $"/api/programs/{CrashOnCommandProgram.ProgramName}", "/api/events", $"/api/logs/{CrashOnCommandProgram.ProgramName}", "/api/logs/peek",
        "/api/actors", "/api/verbs", "/api/pid", "/api/cluster", "/api/nope", "/nope"];

    /// <summary>Those of <see cref="Refused"/> this host serves (the test-only program has no panel).</summary>
    private static readonly string[] Served = ["/", "/dashboard.js", "/api/programs", $"/api/programs/{CrashOnCommandProgram.ProgramName}", "/api/events",
        $"/api/logs/{CrashOnCommandProgram.ProgramName}", "/api/logs/peek", "/api/actors", "/api/verbs", "/api/pid", "/api/cluster"];

    private static readonly string[] Open = ["/health/live", "/health/ready", $"/health/programs/{CrashOnCommandProgram.ProgramName}", "/metrics"];

    /// <summary>What a refusal must not say: the program, the machine, the process.</summary>
    private static void NothingLeaked(string body)
    {
        Assert.DoesNotContain(CrashOnCommandProgram.ProgramName, body);
        Assert.DoesNotContain(Environment.MachineName, body);
        Assert.DoesNotContain($"\"pid\"", body);
        Assert.DoesNotContain("RUNNING", body);
    }

    [Fact]
    public async Task Should_refuse_the_dashboard_and_every_api_read_beyond_loopback_without_the_token_and_serve_them_with_it()
    {
        await using var listener = await Listener.StartAsync("0.0.0.0", new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token });
        var addresses = new[] { IPAddress.Loopback, NonLoopbackAddress() }.OfType<IPAddress>().ToList();
        foreach (var address in addresses)
        {
            using var http = listener.Client(address);
            await Eventually.HoldsAsync(async () => (await http.GetAsync($"/health/programs/{CrashOnCommandProgram.ProgramName}")).IsSuccessStatusCode,
                TimeSpan.FromSeconds(20), "the program RUNNING");
            foreach (var path in Refused)
            {
                using var refused = await http.GetAsync(path);
                Assert.True(refused.StatusCode == HttpStatusCode.Unauthorized, $"{address}{path}: {refused.StatusCode}");
                NothingLeaked(await refused.Content.ReadAsStringAsync());
            }
            using var command = await http.PostAsync($"/api/programs/{CrashOnCommandProgram.ProgramName}/stop", null);
            Assert.Equal(HttpStatusCode.Unauthorized, command.StatusCode);
            foreach (var path in Open) Assert.True((await http.GetAsync(path)).IsSuccessStatusCode, $"{address}{path} without the token");

            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", Token);
            foreach (var path in Served)
                Assert.True((await http.GetAsync(path)).IsSuccessStatusCode, $"{address}{path} with the token");
            Assert.Contains(CrashOnCommandProgram.ProgramName, await http.GetStringAsync("/api/programs"));
            Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/api/nope")).StatusCode); // past the gate, routing answers
        }
        // The login form is what a browser meets at /: nothing of the host in it.
        using var anonymous = listener.Client();
        var form = await anonymous.GetAsync("/");
        Assert.Equal("text/html; charset=utf-8", form.Content.Headers.ContentType?.ToString());
        var html = await form.Content.ReadAsStringAsync();
        Assert.Contains("<form id=\"login-form\" method=\"post\" action=\"/login\">", html);
        Assert.Contains("form-action 'self'", form.Headers.GetValues("Content-Security-Policy").Single());
        NothingLeaked(html);
    }

    [Fact]
    public async Task Should_sign_a_browser_in_with_the_token_and_take_its_session_for_reads_and_for_the_dashboards_commands()
    {
        await using var listener = await Listener.StartAsync("0.0.0.0", new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token });
        var cookies = new CookieContainer();
        using var http = listener.Client(handler: new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, CookieContainer = cookies });

        using var wrong = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "a-guess" }));
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains(System.Net.WebUtility.HtmlEncode(DashboardLogin.Wrong), await wrong.Content.ReadAsStringAsync());
        Assert.False(wrong.Headers.Contains("Set-Cookie"));

        using var right = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = Token }));
        Assert.Equal(HttpStatusCode.SeeOther, right.StatusCode);
        Assert.Equal("/", right.Headers.Location?.ToString());
        var setCookie = right.Headers.GetValues("Set-Cookie").Single();
        Assert.StartsWith($"{AdminSession.CookieName}=", setCookie);
        Assert.Contains("httponly", setCookie);
        Assert.Contains("samesite=strict", setCookie);
        Assert.DoesNotContain("secure", setCookie); // plain HTTP: a Secure cookie would never come back
        Assert.DoesNotContain(Token, setCookie);

        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains($"data-program=\"{CrashOnCommandProgram.ProgramName}\"", html);
        Assert.Contains("data-commands=\"session\"", html);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/dashboard.js")).StatusCode);

        // A command rides the cookie only with the dashboard's header: another site's form cannot add it.
        var stop = $"/api/programs/{CrashOnCommandProgram.ProgramName}/stop";
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync(stop, null)).StatusCode);
        using var fromDashboard = new HttpRequestMessage(HttpMethod.Post, stop) { Headers = { { AdminAccess.DashboardHeader, "1" } } };
        var stopped = await http.SendAsync(fromDashboard);
        Assert.Equal(HttpStatusCode.OK, stopped.StatusCode);
        Assert.Contains($"{CrashOnCommandProgram.ProgramName}: stopped", await stopped.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Should_refuse_everything_but_health_and_metrics_beyond_loopback_when_the_host_has_no_token()
    {
        await using var listener = await Listener.StartAsync("0.0.0.0", new Dictionary<string, string?>());
        using var http = listener.Client();
        foreach (var path in Refused)
        {
            using var refused = await http.GetAsync(path);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{path}: {refused.StatusCode}");
            NothingLeaked(await refused.Content.ReadAsStringAsync());
        }
        var page = await (await http.GetAsync("/")).Content.ReadAsStringAsync();
        Assert.Contains("the host has no CRM_ADMIN_TOKEN", page);
        Assert.Contains("<form id=\"login-form\" method=\"post\" action=\"/login\" hidden>", page);
        Assert.Equal(HttpStatusCode.Forbidden,
            (await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = "" }))).StatusCode);
        foreach (var path in Open) Assert.True((await http.GetAsync(path)).IsSuccessStatusCode, path);
    }

    [Fact]
    public async Task Should_change_nothing_on_loopback_reads_open_and_commands_behind_the_token()
    {
        await using var listener = await Listener.StartAsync("127.0.0.1", new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = Token });
        using var http = listener.Client();
        foreach (var path in Served)
            Assert.True((await http.GetAsync(path)).IsSuccessStatusCode, path);
        Assert.Contains("data-commands=\"token\"", await http.GetStringAsync("/"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.PostAsync($"/api/programs/{CrashOnCommandProgram.ProgramName}/stop", null)).StatusCode);
    }
}
