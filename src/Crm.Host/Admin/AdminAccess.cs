using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Crm.Actors.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Crm.Host.Admin;

/// <summary>
/// Who may read the admin listener (SPEC §5). On loopback nothing is asked: reads are open, commands follow
/// <see cref="AdminAuth"/>. Beyond loopback (crm.admin.bind not a loopback address) only <c>/health/*</c> and
/// <c>/metrics</c> (what probes and Prometheus need) answer without CRM_ADMIN_TOKEN, and the login form with its
/// stylesheet; the dashboard, its script, every <c>/api</c> read and every command need it, and without a token on
/// the host they are all refused. The rule follows the listener, not the client's address: a request from
/// 127.0.0.1 to a 0.0.0.0 listener is asked too, because a reverse proxy, <c>kubectl port-forward</c> or rootless
/// podman's port forwarding (slirp4netns, pasta) deliver remote clients from loopback; the container's HEALTHCHECK
/// (<c>crmctl health</c>) reads <c>/health/*</c> only, and crmctl sends CRM_ADMIN_TOKEN from its environment.
/// </summary>
public static class AdminAccess
{
    public enum Decision
    {
        /// <summary>Served.</summary>
        Allow,

        /// <summary>401: the token (or a dashboard session made with it) is needed.</summary>
        Unauthorized,

        /// <summary>403: beyond loopback and the host has no token: nobody may.</summary>
        Forbidden,
    }

    /// <summary>What answers beyond loopback without a credential. Paths compare as routing does (case-insensitive).</summary>
    public static bool IsOpen(PathString path) =>
        path.StartsWithSegments("/health") || path.Equals("/metrics") || path.Equals(LoginPath) || path.Equals("/dashboard.css");

    public const string LoginPath = "/login";

    public static Decision Decide(bool loopbackListener, bool hostHasToken, PathString path, bool credentialPresented) =>
        loopbackListener || IsOpen(path) ? Decision.Allow
        : !hostHasToken ? Decision.Forbidden
        : credentialPresented ? Decision.Allow
        : Decision.Unauthorized;

    /// <summary>
    /// The request proves it knows the token: <c>Authorization: Bearer TOKEN</c> (crmctl, scripts, the dashboard's
    /// fetches once asked), or the dashboard's session cookie. The cookie alone does not carry a command: that also
    /// needs the <see cref="DashboardHeader"/> the dashboard's script sends, which another site's page cannot add
    /// (a custom header needs CORS, which this listener never grants): the cookie's SameSite=Strict, doubled.
    /// </summary>
    public static bool Presents(HttpRequest request, string token, DateTimeOffset now)
    {
        var header = request.Headers.Authorization.ToString();
        if (header.StartsWith("Bearer ", StringComparison.Ordinal) && FixedTimeEquals(header["Bearer ".Length..], token)) return true;
        if (!AdminSession.IsValid(request.Cookies[AdminSession.CookieName], token, now)) return false;
        return HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || request.Headers.ContainsKey(DashboardHeader);
    }

    /// <summary>Sent by the dashboard's script with every request.</summary>
    public const string DashboardHeader = "X-Crm-Dashboard";

    public static bool FixedTimeEquals(string presented, string token) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token));

    /// <summary>The gate in front of every route, and the login form's POST.</summary>
    public static void UseAdminAccess(this WebApplication app, AdminSettings admin)
    {
        var token = admin.Token?.Reveal();
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            var decision = Decide(admin.IsLoopback, token is not null, request.Path,
                token is not null && Presents(request, token, DateTimeOffset.UtcNow));
            if (decision == Decision.Allow)
            {
                await next(context);
                return;
            }
            // Nothing of the host in a refusal: no name, version, program or route (an unknown path is refused alike).
            var forbidden = decision == Decision.Forbidden;
            context.Response.StatusCode = forbidden ? StatusCodes.Status403Forbidden : StatusCodes.Status401Unauthorized;
            if (!forbidden) context.Response.Headers.WWWAuthenticate = "Bearer realm=\"crm-admin\"";
            if (request.Path.Equals("/") && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
            {
                await DashboardLogin.WriteAsync(context, forbidden ? DashboardLogin.Refused : DashboardLogin.Ask);
                return;
            }
            await context.Response.WriteAsJsonAsync(new AdminApi.Error(forbidden
                ? "refused: the admin listener is bound beyond loopback and the host has no CRM_ADMIN_TOKEN"
                : "a valid bearer token is required"));
        });
        app.MapPost(LoginPath, DashboardLogin.SignInAsync(admin));
    }
}

/// <summary>
/// The dashboard's session beyond loopback: a cookie holding an expiry time and an HMAC of it keyed by the token,
/// not the token itself. It needs no server-side store, ends at <see cref="Lifetime"/> (and with the browser: no
/// Max-Age), and any change of the token voids every session.
/// </summary>
public static class AdminSession
{
    public const string CookieName = "crm-admin-session";
    public static readonly TimeSpan Lifetime = TimeSpan.FromHours(12);

    public static string Issue(string token, DateTimeOffset now)
    {
        var expires = (now + Lifetime).ToUnixTimeSeconds();
        return expires.ToString(CultureInfo.InvariantCulture) + "." + Mac(token, expires);
    }

    public static bool IsValid(string? cookie, string token, DateTimeOffset now)
    {
        if (string.IsNullOrEmpty(cookie)) return false;
        var dot = cookie.IndexOf('.');
        if (dot <= 0 || !long.TryParse(cookie.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)) return false;
        if (expires <= now.ToUnixTimeSeconds() || expires > (now + Lifetime).ToUnixTimeSeconds()) return false;
        return AdminAccess.FixedTimeEquals(cookie[(dot + 1)..], Mac(token, expires));
    }

    private static string Mac(string token, long expires) =>
        Convert.ToBase64String(HMACSHA256.HashData(Encoding.UTF8.GetBytes(token), Encoding.UTF8.GetBytes($"crm-admin-session:{expires}")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
