using Crm.Actors.Configuration;
using Microsoft.AspNetCore.Http;
using Crm.Actors.Hosting;

namespace Crm.Host.Admin;

/// <summary>
/// Guards every command that changes something (SPEC §5): with CRM_ADMIN_TOKEN set, the request must carry it
/// as a bearer token (or the dashboard's session, <see cref="AdminAccess.Presents"/>); without one, only a
/// loopback listener accepts them. The token is never logged or echoed. Reads beyond loopback are
/// <see cref="AdminAccess"/>'s.
/// </summary>
public sealed class AdminAuth(AdminSettings admin) : IEndpointFilter
{
    public static string? StartupWarning(AdminSettings admin, string? token) =>
        string.IsNullOrEmpty(token) && !admin.IsLoopback
            ? $"The admin listener is bound to {admin.Bind}, beyond loopback, and CRM_ADMIN_TOKEN is not set: everything but /health/* and /metrics is refused (the dashboard, every /api read, every command)"
            : null;

    /// <summary>What the host says at start about its admin listener: refusals to expect, a token sent in clear.</summary>
    public static IEnumerable<string> StartupWarnings(AdminSettings admin)
    {
        if (StartupWarning(admin, admin.Token?.Reveal()) is { } refused) yield return refused;
        else if (!admin.IsLoopback && admin.Tls is null)
            yield return $"The admin listener is bound to {admin.Bind}, beyond loopback, over plain HTTP: CRM_ADMIN_TOKEN and the dashboard's session travel in clear; set {AdminTlsSettings.CertificateKey} and {AdminTlsSettings.KeyKey}, or keep it behind a TLS proxy";
    }

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (admin.Token?.Reveal() is { } token)
        {
            if (!AdminAccess.Presents(context.HttpContext.Request, token, DateTimeOffset.UtcNow))
                return Results.Json(new AdminApi.Error("a valid bearer token is required"), statusCode: StatusCodes.Status401Unauthorized);
        }
        else if (!admin.IsLoopback)
        {
            return Results.Json(new AdminApi.Error("refused: the admin listener is bound beyond loopback and the host has no CRM_ADMIN_TOKEN"),
                statusCode: StatusCodes.Status403Forbidden);
        }
        return await next(context);
    }
}
