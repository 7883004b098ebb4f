using Crm.Host.Programs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Crm.Host.Admin;

public static partial class AdminApi
{
    public sealed record ClusterMember(string Address, IReadOnlyList<string> Roles, string Status, bool Reachable, string Version,
        IReadOnlyList<string> Programs);

    public sealed record Cluster(bool Clustered, IReadOnlyList<ClusterMember> Members);
}

/// <summary>
/// What the dashboard (SPEC §10) reads beside crmctl's endpoints, documented in docs/admin-api.md: each program's
/// own reads under <c>/api</c> (what its panel shows). Read-only.
/// </summary>
public static class DashboardApi
{
    public static void MapDashboardApi(this IEndpointRouteBuilder app, HostedPrograms programs)
    {
        var api = app.MapGroup("/api");
        foreach (var program in programs.All) program.MapReads(api);
    }
}
