using System.Net.Http.Json;
using System.Text.Json;
using Crm.Tests.Support;
using OpenQA.Selenium;

namespace Crm.Tests.Admin;

/// <summary>
/// SPEC §10's page in a real browser (headless Chromium through Selenium WebDriver), against a real host on
/// PostgreSQL. What the page shows is checked against the admin API, and what its buttons do, through the API.
/// Set CRM_DASHBOARD_SCREENSHOT to a path to keep a screenshot of the page after its first test.
/// </summary>
[Trait("Category", "Integration")]
public class DashboardBrowserTests
{
    private const string Program = "reminder_worker";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<JsonElement> JsonAsync(HttpClient http, string path) =>
        JsonDocument.Parse(await http.GetStringAsync(path)).RootElement;

    private static async Task<string?> StateAsync(HttpClient http) =>
        (await JsonAsync(http, $"/api/programs/{Program}")).GetProperty("state").GetString();

    /// <summary>A program's state from its health check, which needs no token.</summary>
    private static async Task<string?> StateAsync(HttpClient http, string healthPath) =>
        (await JsonAsync(http, healthPath)).GetProperty("checks").GetProperty($"program:{Program}").GetProperty("data").GetProperty("state").GetString();

    private static IWebElement Card(IWebDriver d) => d.FindElement(By.CssSelector($".program[data-program='{Program}']"));

    private static IWebElement Button(IWebDriver d, string command) => Card(d).FindElement(By.CssSelector($"button[data-command='{command}']"));

    /// <summary>The page has refreshed itself from the API at least <paramref name="times"/> times.</summary>
    private static void Refreshed(Browser browser, int times = 1) =>
        browser.Until(d => Convert.ToInt32(browser.Script("return Number(document.body.dataset.refreshed || 0);")) >= times,
            $"the page refreshed itself {times} time(s)");

    [Fact]
    public async Task Should_show_the_real_state_and_scans_draw_them_and_stop_and_start_the_program_from_its_buttons()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 5);
        // Created before their date (two hours ago, as the CRM's models stamp it): late by an hour when the host comes.
        await db.ExecuteAsync("UPDATE crm_interactions SET created_at = now() - interval '2 hours', updated_at = now() - interval '2 hours'");
        var (host, http, _) = await AdminEndpointTests.StartAsync(db);
        using var _ = host;
        await Eventually.HoldsAsync(async () => (await JsonAsync(http, "/api/scans")).GetProperty("scans").EnumerateArray()
                .Any(s => s.GetProperty("written").GetInt32() == 5),
            Patience, "a scan wrote the 5 due reminders", () => host.Output);

        using var browser = new Browser();
        browser.Open(http.BaseAddress + "");
        Refreshed(browser);

        // The program's real state, as the API tells it.
        var status = await JsonAsync(http, $"/api/programs/{Program}");
        Assert.Equal("RUNNING", status.GetProperty("state").GetString());
        Assert.Equal("RUNNING", Card(browser.Driver).FindElement(By.CssSelector("[data-field='state']")).Text);
        Assert.Matches($@"^pid {host.Process.Id}, uptime \d+:\d\d:\d\d$", Card(browser.Driver).FindElement(By.CssSelector("[data-field='description']")).Text);

        // Charts drawn from the real scan: the scan's bar, and the lateness histogram counting its 5 notifications.
        var scan = browser.Until(d => d.FindElement(By.CssSelector("#chart-scans g.scan[data-written='5']")), "the scans chart draws the scan that wrote 5");
        Assert.Equal("true", scan.GetAttribute("data-completed"));
        Assert.NotEmpty(scan.FindElements(By.CssSelector("rect.bar.written")));
        var lateness = await JsonAsync(http, "/api/lateness");
        Assert.Equal(5, lateness.GetProperty("window").GetProperty("count").GetInt64());
        var bars = browser.Driver.FindElements(By.CssSelector("#chart-histogram rect.bar[data-count]"));
        Assert.Equal(5, bars.Sum(b => long.Parse(b.GetAttribute("data-count")!)));
        // Seeded an hour (and a few seconds) late: the histogram's bar for the bucket up to 6 h holds them.
        Assert.Equal("5", browser.Driver.FindElement(By.CssSelector("#chart-histogram rect.bar[data-bucket='21600']")).GetAttribute("data-count"));
        Assert.Equal("5", browser.Driver.FindElement(By.CssSelector("[data-field='written']")).Text);
        Assert.Equal("0", browser.Driver.FindElement(By.CssSelector("[data-field='backlog']")).Text);
        Assert.Contains("STARTING -> RUNNING", string.Join("\n", browser.Driver.FindElements(By.CssSelector("#event-list li")).Select(li => li.Text)).Replace(" → ", " -> "));
        Assert.Contains("STARTING -> RUNNING", browser.Driver.FindElement(By.Id("log-tail")).Text);

        // Nothing was loaded from outside the listener.
        var resources = (browser.Script("return performance.getEntriesByType('resource').map(e => e.name);") as IEnumerable<object>)!.Select(o => o.ToString()!).ToList();
        Assert.NotEmpty(resources);
        Assert.All(resources, url => Assert.StartsWith(http.BaseAddress!.ToString(), url));
        Assert.Empty(browser.Errors());

        if (Environment.GetEnvironmentVariable("CRM_DASHBOARD_SCREENSHOT") is { Length: > 0 } path) browser.Screenshot(path);

        // Stop: the program is STOPPED, through the API, and the page says so.
        Button(browser.Driver, "stop").Click();
        await Eventually.HoldsAsync(async () => await StateAsync(http) == "STOPPED", Patience, "the program is STOPPED after a click on stop");
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: stopped", "the page reports the stop as the API answered it");
        browser.Until(d => Card(d).FindElement(By.CssSelector("[data-field='state']")).Text == "STOPPED", "the card shows STOPPED");

        // The buttons follow the state: a STOPPED program can be started, not stopped.
        browser.Until(d => Button(d, "start").Enabled && !Button(d, "stop").Enabled, "Start enabled and Stop disabled while STOPPED");

        // Start again: then Start is disabled and Stop enabled, as supervisorctl would refuse a second start.
        Button(browser.Driver, "start").Click();
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: started", "the page reports the start");
        await Eventually.HoldsAsync(async () => await StateAsync(http) == "RUNNING", Patience, "the program is RUNNING after a click on start");
        browser.Until(d => Card(d).FindElement(By.CssSelector("[data-field='state']")).Text == "RUNNING", "the card shows RUNNING");
        browser.Until(d => !Button(d, "start").Enabled && Button(d, "stop").Enabled && Button(d, "restart").Enabled,
            "Start disabled, Stop and Restart enabled while RUNNING");
        Assert.Empty(browser.Errors());
    }

    [Fact]
    public async Task Should_ask_for_the_token_once_and_keep_it_for_the_tab_when_the_host_has_one()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db, environment: new() { ["CRM_ADMIN_TOKEN"] = "s3cret-token" });
        using var _ = host;
        using var browser = new Browser();
        browser.Open(http.BaseAddress + "");
        Refreshed(browser);
        Assert.Equal("need the admin token", browser.Driver.FindElement(By.CssSelector(".policy")).Text);

        // Asked before the first command; a wrong token is refused by the host and asked again.
        Button(browser.Driver, "stop").Click();
        var input = browser.Until(d => d.FindElement(By.Id("token-input")) is { Displayed: true } i ? i : null, "the token is asked")!;
        input.SendKeys("a-guess");
        browser.Driver.FindElement(By.Id("token-send")).Click();
        browser.Until(d => d.FindElement(By.Id("token-reason")).Text.StartsWith("The host refused that token", StringComparison.Ordinal)
            && d.FindElement(By.Id("token-input")).Displayed, "the refused token is asked again");
        Assert.Equal("RUNNING", await StateAsync(http));
        browser.Driver.FindElement(By.Id("token-input")).SendKeys("s3cret-token");
        browser.Driver.FindElement(By.Id("token-send")).Click();
        await Eventually.HoldsAsync(async () => await StateAsync(http) == "STOPPED", Patience, "the program is STOPPED with the token");
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: stopped", "the page reports the stop");

        // Kept for the tab: the next command is sent without asking.
        Button(browser.Driver, "start").Click();
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: started", "started without asking again");
        Assert.False(browser.Driver.FindElement(By.Id("token-dialog")).Displayed);
        await Eventually.HoldsAsync(async () => await StateAsync(http) == "RUNNING", Patience, "the program is RUNNING again");
        Assert.Equal("s3cret-token", browser.Script("return sessionStorage.getItem('crm-admin-token');"));
        Assert.DoesNotContain("s3cret-token", host.Output);
    }

    [Fact]
    public async Task Should_show_only_the_refusal_beyond_loopback_without_a_token_and_nothing_of_the_host()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db, bindAddress: "0.0.0.0");
        using var _ = host;
        using var browser = new Browser();
        browser.Open(http.BaseAddress + "");

        var message = browser.Until(d => d.FindElement(By.Id("login-message")), "the refusal is shown");
        Assert.Contains("the host has no CRM_ADMIN_TOKEN", message.Text);
        Assert.False(browser.Driver.FindElement(By.Id("login-form")).Displayed); // no token to ask for: the host has none
        Assert.Empty(browser.Driver.FindElements(By.CssSelector(".program")));
        Assert.DoesNotContain(Program, browser.Driver.PageSource);
        Assert.Equal("RUNNING", await StateAsync(http, "/health/programs/" + Program));
        // The refused page is in the browser's console: the console the other tests find empty is read indeed.
        Assert.Contains(browser.Errors(), e => e.Contains("status of 403"));
    }

    [Fact]
    public async Task Should_sign_in_beyond_loopback_with_the_token_run_commands_without_asking_again_and_ask_once_when_the_session_ends()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var (host, http, _) = await AdminEndpointTests.StartAsync(db, environment: new() { ["CRM_ADMIN_TOKEN"] = "s3cret-token" }, bindAddress: "0.0.0.0");
        using var _ = host;
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "s3cret-token");
        using var browser = new Browser();
        browser.Open(http.BaseAddress + "");

        // The login form: a wrong token is refused, the right one opens the page.
        browser.Until(d => d.FindElement(By.Id("login-token")), "the login form").SendKeys("a-guess");
        browser.Driver.FindElement(By.Id("login-send")).Click();
        browser.Until(d => d.FindElement(By.Id("login-message")).Text.StartsWith("The host refused that token", StringComparison.Ordinal), "the wrong token is refused");
        browser.Driver.FindElement(By.Id("login-token")).SendKeys("s3cret-token");
        browser.Driver.FindElement(By.Id("login-send")).Click();
        Refreshed(browser);
        Assert.Equal("need the admin token (this session has it)", browser.Driver.FindElement(By.CssSelector(".policy")).Text);
        Assert.Equal("", browser.Script("return document.cookie;")); // HttpOnly: no script reads the session

        // The session carries the commands: nothing is asked.
        Button(browser.Driver, "stop").Click();
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: stopped", "stopped without asking for the token");
        Assert.False(browser.Driver.FindElement(By.Id("token-dialog")).Displayed);
        Assert.Equal("STOPPED", await StateAsync(http));

        // The session ends (a restart with another token, 12 hours, a cleared cookie): the next reads ask once, then carry the token.
        browser.Driver.Manage().Cookies.DeleteAllCookies();
        var input = browser.Until(d => d.FindElement(By.Id("token-input")) is { Displayed: true } i ? i : null, "a refused read asks for the token")!;
        Assert.StartsWith("This host asks for its CRM_ADMIN_TOKEN before it shows anything", browser.Driver.FindElement(By.Id("token-reason")).Text);
        input.SendKeys("s3cret-token");
        browser.Driver.FindElement(By.Id("token-send")).Click();
        var after = Convert.ToInt32(browser.Script("return Number(document.body.dataset.refreshed || 0);"));
        Refreshed(browser, after + 2);
        Assert.False(browser.Driver.FindElement(By.Id("banner")).Displayed);
        Assert.False(browser.Driver.FindElement(By.Id("token-dialog")).Displayed);
        Button(browser.Driver, "start").Click();
        browser.Until(d => d.FindElement(By.Id("command-result")).Text == $"{Program}: started", "started with the token the reads asked for");
        await Eventually.HoldsAsync(async () => await StateAsync(http) == "RUNNING", Patience, "the program is RUNNING again");
        Assert.DoesNotContain("s3cret-token", host.Output);
        // The refusals the page met are in the console (the form's 401s, the reads' after the session ended); nothing else.
        Assert.All(browser.Errors(), e => Assert.Contains("status of 401", e));
    }
}
