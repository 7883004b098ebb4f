using System.Net;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Supervision;
using Crm.Host.Admin;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>SPEC §10's page as the host serves it: rendered, encoded, and closed to anything outside the listener.</summary>
[Trait("Category", "Integration")]
public class DashboardPageTests
{
    [Fact]
    public async Task Should_serve_the_page_with_the_programs_rendered_and_nothing_allowed_from_outside_the_listener()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db, environment: new() { ["CRM_ADMIN_TOKEN"] = "s3cret-token" });
        using var _ = host;

        var page = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
        var csp = string.Join(";", page.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'none'", csp);
        Assert.Contains("script-src 'self'", csp);
        Assert.Contains("connect-src 'self'", csp);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<article class=\"program\" data-program=\"reminder_worker\" data-state=\"RUNNING\">", html);
        Assert.Contains($"pid {host.Process.Id}, uptime", html);
        Assert.Contains("data-commands=\"token\"", html);
        Assert.DoesNotContain("s3cret-token", html);
        Assert.DoesNotContain("{{", html);
        Assert.DoesNotMatch(@"(src|href)=""(https?:)?//", html); // nothing from elsewhere

        var script = await http.GetAsync("/dashboard.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType!.MediaType);
        Assert.DoesNotContain("http://", (await script.Content.ReadAsStringAsync()).Replace("http://www.w3.org/2000/svg", ""));
        var css = await http.GetAsync("/dashboard.css");
        Assert.Equal("text/css", css.Content.Headers.ContentType!.MediaType);
        Assert.DoesNotContain("url(", await css.Content.ReadAsStringAsync()); // no font or image fetched
    }

    [Fact]
    public void Should_encode_what_it_renders_and_tell_the_buttons_what_the_API_will_do()
    {
        var html = DashboardPage.Render("<h1>{{host}}</h1>{{programs}}", new Dictionary<string, string> { ["host"] = "<b>\"x\"</b>" }, "<article></article>");
        Assert.Equal("<h1>&lt;b&gt;&quot;x&quot;&lt;/b&gt;</h1><article></article>", html);
        Assert.Equal("<p>{{host}}</p>", DashboardPage.Render("{{programs}}", new Dictionary<string, string> { ["host"] = "h" }, "<p>{{host}}</p>"));

        var info = new ProgramInfo("a<b", ProgramState.Fatal, DateTimeOffset.UnixEpoch, 4, "refused <script>", EverStarted: true);
        var card = DashboardPage.Programs([info], DateTimeOffset.UnixEpoch, TimeZoneInfo.Utc);
        Assert.Contains("data-program=\"a&lt;b\" data-state=\"FATAL\"", card);
        Assert.Contains(">refused &lt;script&gt;</p>", card);
        Assert.Contains("Exited too quickly (process log may have details)", card);

        Assert.Equal("token", DashboardPage.CommandPolicy(new AdminSettings("0.0.0.0", 1), "t").Key);
        Assert.Equal("open", DashboardPage.CommandPolicy(new AdminSettings("127.0.0.1", 1), null).Key);
        Assert.Equal("open", DashboardPage.CommandPolicy(new AdminSettings("localhost", 1), "").Key);
        Assert.Equal("refused", DashboardPage.CommandPolicy(new AdminSettings("0.0.0.0", 1), null).Key);
    }
}
