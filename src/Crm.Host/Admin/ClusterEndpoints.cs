using Akka.Actor;
using Akka.Cluster;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Supervision;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Crm.Host.Admin;

/// <summary>SPEC §8: the cluster's members, and leave / down, for <c>crmctl cluster</c> (Petabridge.Cmd's palette).</summary>
public static class ClusterEndpoints
{
    public sealed record MemberRequest(string Address);

    public sealed record Done(string Message);

    /// <summary>
    /// The members as this node sees them, oldest first, each with the processes it runs and their states
    /// (<paramref name="programs"/>: the group status report, whose Address says where each runs).
    /// </summary>
    public static IReadOnlyList<AdminApi.ClusterMember> Members(Cluster cluster, IReadOnlyList<ProgramInfo> programs)
    {
        var state = cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        return state.Members
            .OrderBy(m => m, Akka.Cluster.Member.AgeOrdering)
            .Select(m => new AdminApi.ClusterMember(m.Address.ToString(), m.Roles.Order().ToList(), m.Status.ToString(),
                !unreachable.Contains(m.Address), m.AppVersion.ToString(),
                programs.Where(p => p.Address == m.Address.ToString()).Select(p => $"{p.Process} {p.State.Name()}").ToList()))
            .ToList();
    }

    public static void MapClusterApi(this IEndpointRouteBuilder app, CrmSettings settings)
    {
        var api = app.MapGroup("/api/cluster");
        var mutating = api.MapGroup("").AddEndpointFilter(new AdminAuth(settings.Admin));

        api.MapGet("", async (ActorSystem system, IRequiredActor<RootSupervisor> root) =>
        {
            if (!settings.Cluster.Enabled) return Results.Ok(new AdminApi.Cluster(false, []));
            var report = await (await root.GetAsync()).Ask<SupervisorMessages.StatusReport>(new SupervisorMessages.GetStatus(null), AdminAsk.Timeout);
            return Results.Ok(new AdminApi.Cluster(true, Members(Cluster.Get(system), report.Programs)));
        });

        mutating.MapPost("/leave", (MemberRequest request, ActorSystem system) =>
            Act(settings, system, request, (cluster, address) => cluster.Leave(address), "leaving"));
        mutating.MapPost("/down", (MemberRequest request, ActorSystem system) =>
            Act(settings, system, request, (cluster, address) => cluster.Down(address), "downed"));
    }

    private static IResult Act(CrmSettings settings, ActorSystem system, MemberRequest request, Action<Cluster, Address> act, string done)
    {
        if (!settings.Cluster.Enabled) return Results.Conflict(new AdminApi.Error("not clustered (crm.cluster.enabled = off)"));
        if (!Address.TryParse(request.Address ?? "", out var address))
            return Results.BadRequest(new AdminApi.Error($"address={request.Address}: expected akka.tcp://{Crm.Actors.Hosting.ClusterSettings.SystemName}@HOST:PORT"));
        var cluster = Cluster.Get(system);
        if (cluster.State.Members.All(m => m.Address != address))
            return Results.NotFound(new AdminApi.Error($"{address} is not a member of this cluster"));
        act(cluster, address);
        return Results.Ok(new Done($"{address}: {done}"));
    }
}
