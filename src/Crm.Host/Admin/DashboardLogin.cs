using System.Net;
using Crm.Actors.Hosting;
using Microsoft.AspNetCore.Http;

namespace Crm.Host.Admin;

/// <summary>
/// How a browser presents CRM_ADMIN_TOKEN beyond loopback. A navigation (the address bar, a bookmark) cannot carry
/// an <c>Authorization</c> header, so the page needs either an empty shell served to anyone that fetches
/// everything with a header, or a session; this is Grafana's answer (a login form, then an HttpOnly session
/// cookie) and what Hangfire's dashboard relies on (the application's cookie behind its authorization filter).
/// The page stays rendered by the host, as on loopback; HttpOnly keeps the credential out of every script;
/// SameSite=Strict (and, for commands, <see cref="AdminAccess.DashboardHeader"/>) keeps other sites from riding it;
/// Secure when the listener speaks TLS. The form is the only thing served at <c>/</c> without the token: it names no
/// host, version or program.
/// </summary>
public static class DashboardLogin
{
    public const string Ask = "This admin listener is reachable beyond loopback: enter the host's CRM_ADMIN_TOKEN.";
    public const string Wrong = "The host refused that token. Enter its CRM_ADMIN_TOKEN.";
    public const string Refused = "This admin listener is reachable beyond loopback and the host has no CRM_ADMIN_TOKEN: "
        + "only /health/* and /metrics answer here. Set CRM_ADMIN_TOKEN (or CRM_ADMIN_TOKEN_FILE) on the host, or use crmctl on it.";

    // The form posts to this listener only; nothing else may run or load.
    private const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private static readonly Lazy<string> Template = new(() => DashboardPage.Resource("login.html"));

    /// <summary>Writes the form (or, with <see cref="Refused"/>, the refusal without a form); the status is the caller's.</summary>
    public static Task WriteAsync(HttpContext context, string message)
    {
        var response = context.Response;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.CacheControl = "no-store";
        response.ContentType = "text/html; charset=utf-8";
        var html = Template.Value
            .Replace("{{message}}", WebUtility.HtmlEncode(message))
            .Replace("{{formHidden}}", message == Refused ? " hidden" : "");
        return response.WriteAsync(html);
    }

    /// <summary>POST /login with the form's <c>token</c>: the session cookie and back to the page (303), or the form again (401).</summary>
    public static RequestDelegate SignInAsync(AdminSettings admin) => async context =>
    {
        var token = admin.Token?.Reveal();
        if (token is null)
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            await WriteAsync(context, Refused);
            return;
        }
        var presented = context.Request.HasFormContentType ? (string?)(await context.Request.ReadFormAsync(context.RequestAborted))["token"] : null;
        if (presented is null || !AdminAccess.FixedTimeEquals(presented, token))
        {
            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            await WriteAsync(context, Wrong);
            return;
        }
        context.Response.Cookies.Append(AdminSession.CookieName, AdminSession.Issue(token, DateTimeOffset.UtcNow), new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Secure = context.Request.IsHttps,
            Path = "/",
            IsEssential = true,
        });
        context.Response.Headers.CacheControl = "no-store";
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = "/";
    };
}
