using System.Net;
using System.Reflection;
using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Supervision;
using Crm.Host.Programs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Host.Admin;

/// <summary>
/// SPEC §10: <c>GET /</c> on the admin listener, a page for people. Server-rendered HTML (the programs as they are
/// now) with one stylesheet and one script, both served from this assembly: nothing is loaded from outside the
/// listener, and the Content-Security-Policy says so to the browser. The script refreshes the page from the admin
/// API (docs/admin-api.md) and sends the buttons' commands there, so the page refuses exactly what the API refuses.
/// </summary>
public static class DashboardPage
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static readonly Lazy<string> Template = new(() => Resource("dashboard.html"));
    private static readonly Lazy<byte[]> Css = new(() => Encoding.UTF8.GetBytes(Resource("dashboard.css")));
    private static readonly Lazy<byte[]> Script = new(() => Encoding.UTF8.GetBytes(Resource("dashboard.js")));

    /// <summary>
    /// The page and its assets, with each program's panel (its cards, sections and script); what it reads is
    /// <see cref="DashboardApi"/>'s, <see cref="AdminEndpoints"/>' and the programs' own reads.
    /// </summary>
    public static void MapDashboard(this IEndpointRouteBuilder app, CrmSettings settings, HostedPrograms programs)
    {
        var panels = programs.All.Where(p => p.Panel is not null).Select(p => (p.Name, Panel: p.Panel!)).ToList();
        var fragments = new Dictionary<string, string>
        {
            ["cards"] = string.Concat(panels.Select(p => p.Panel.Cards)),
            ["sections"] = string.Concat(panels.Select(p => p.Panel.Sections)),
            ["scripts"] = string.Join('\n', panels.Select(p => $"<script src=\"/panels/{Uri.EscapeDataString(p.Name)}.js\" defer></script>")),
            ["summaryHidden"] = panels.Any(p => p.Panel.Cards.Length > 0) ? "" : " hidden",
        };
        var token = settings.Admin.Token?.Reveal();
        var hostPolicy = CommandPolicy(settings.Admin, token);
        app.MapGet("/", async (HttpContext context, IRequiredActor<RootSupervisor> root) =>
        {
            // Signed in (beyond loopback): the session cookie carries the commands too, nothing more is asked.
            var policy = token is not null && AdminSession.IsValid(context.Request.Cookies[AdminSession.CookieName], token, DateTimeOffset.UtcNow)
                ? (Key: "session", Text: "need the admin token (this session has it)")
                : hostPolicy;
            var report = await (await root.GetAsync()).Ask<StatusReport>(new GetStatus(null), AdminAsk.Timeout);
            var now = DateTimeOffset.UtcNow;
            var html = Render(Template.Value, new Dictionary<string, string>
            {
                ["host"] = Environment.MachineName,
                ["pid"] = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["version"] = Version(),
                ["bind"] = settings.Admin.Bind,
                ["commands"] = policy.Key,
                ["commandsText"] = policy.Text,
                ["renderedAt"] = now.ToString("HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
            }, Programs(report.Programs, now, TimeZoneInfo.Local), fragments);
            Secure(context.Response);
            return Results.Content(html, "text/html; charset=utf-8");
        });
        app.MapGet("/dashboard.css", (HttpContext context) => Asset(context, Css.Value, "text/css; charset=utf-8"));
        app.MapGet("/dashboard.js", (HttpContext context) => Asset(context, Script.Value, "text/javascript; charset=utf-8"));
        foreach (var (name, panel) in panels)
        {
            var script = Encoding.UTF8.GetBytes(panel.Script);
            app.MapGet($"/panels/{name}.js", (HttpContext context) => Asset(context, script, "text/javascript; charset=utf-8"));
        }
    }

    /// <summary>What the buttons may expect, as <see cref="AdminAuth"/> decides it.</summary>
    public static (string Key, string Text) CommandPolicy(AdminSettings admin, string? token) =>
        !string.IsNullOrEmpty(token) ? ("token", "need the admin token")
        : admin.IsLoopback ? ("open", "open on loopback")
        : ("refused", "refused: beyond loopback without a token");

    /// <summary>
    /// The template with each <c>{{name}}</c> replaced by its HTML-encoded value, each of <paramref name="fragments"/>
    /// (the panels' markup, ours) as it is, and <c>{{programs}}</c> by the cards.
    /// </summary>
    public static string Render(string template, IReadOnlyDictionary<string, string> values, string programs,
        IReadOnlyDictionary<string, string>? fragments = null)
    {
        var html = new StringBuilder(template);
        foreach (var (name, fragment) in fragments ?? new Dictionary<string, string>()) html.Replace("{{" + name + "}}", fragment);
        foreach (var (name, value) in values) html.Replace("{{" + name + "}}", WebUtility.HtmlEncode(value));
        return html.Replace("{{programs}}", programs).ToString(); // last: nothing in a program's text is taken for a placeholder
    }

    /// <summary>One card per program; the script updates the fields marked <c>data-field</c> in place.</summary>
    public static string Programs(IEnumerable<ProgramInfo> programs, DateTimeOffset now, TimeZoneInfo zone)
    {
        var html = new StringBuilder();
        foreach (var p in programs.OrderBy(p => p.Process, StringComparer.Ordinal))
        {
            string E(string? text) => WebUtility.HtmlEncode(text ?? "");
            var state = p.State.Name();
            var description = StatusDescription.Describe(p, now, zone);
            html.Append($"""
                      <article class="program" data-program="{E(p.Process)}" data-state="{state}">
                        <div class="program-head"><h3>{E(p.Process)}</h3><span class="badge" data-field="state">{state}</span></div>
                        <div class="program-body">
                          <p class="description" data-field="description">{(description == "" ? "&nbsp;" : E(description))}</p>
                          <p class="since">in this state since <time data-field="since" datetime="{p.Since:O}">{p.Since.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC</time></p>
                          <p class="node" data-field="node"{(p.Node is null ? " hidden" : "")}>{(p.Node is null ? "" : "node " + E(p.Node) + (p.Address is null ? "" : " (" + E(p.Address) + ")"))}</p>
                          <p class="last-error" data-field="lastError"{(p.LastError is null ? " hidden" : "")}>{E(p.LastError)}</p>
                        </div>
                        <div class="actions">
                          <button type="button" data-command="start"{(p.State is ProgramState.Stopped or ProgramState.Exited or ProgramState.Fatal ? "" : " disabled")}>Start</button>
                          <button type="button" data-command="stop"{(p.State is ProgramState.Starting or ProgramState.Running or ProgramState.Backoff ? "" : " disabled")}>Stop</button>
                          <button type="button" data-command="restart"{(p.State is ProgramState.Stopping ? " disabled" : "")}>Restart</button>
                        </div>
                      </article>

                """);
        }
        return html.ToString();
    }

    private static IResult Asset(HttpContext context, byte[] content, string type)
    {
        Secure(context.Response);
        context.Response.Headers.CacheControl = "no-cache";
        return Results.Bytes(content, type);
    }

    private static void Secure(HttpResponse response)
    {
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        if (!response.Headers.ContainsKey("Cache-Control")) response.Headers.CacheControl = "no-store";
    }

    private static string Version()
    {
        var assembly = typeof(DashboardPage).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        return (informational ?? assembly.GetName().Version?.ToString() ?? "unknown").Split('+')[0];
    }

    internal static string Resource(string name)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream("Crm.Host.Admin.wwwroot." + name)
            ?? throw new InvalidOperationException($"the dashboard's {name} is not embedded in Crm.Host");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
