using System.Security.Cryptography;
using System.Text;
using Crm.Actors.Configuration;
using Microsoft.AspNetCore.Http;
using Crm.Actors.Hosting;

namespace Crm.Host.Admin;

/// <summary>
/// Guards every command that changes something (SPEC §5): with CRM_ADMIN_TOKEN set, the request must carry it
/// as a bearer token; without one, only a loopback listener accepts them. The token is never logged or echoed.
/// </summary>
public sealed class AdminAuth(AdminSettings admin, string? token) : IEndpointFilter
{
    public static string? StartupWarning(AdminSettings admin, string? token) =>
        string.IsNullOrEmpty(token) && !admin.IsLoopback
            ? $"The admin listener is bound to {admin.Bind}, beyond loopback, and CRM_ADMIN_TOKEN is not set: every command that changes something is refused"
            : null;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        if (!string.IsNullOrEmpty(token))
        {
            var header = context.HttpContext.Request.Headers.Authorization.ToString();
            var presented = header.StartsWith("Bearer ", StringComparison.Ordinal) ? header["Bearer ".Length..] : "";
            if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(token)))
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
