using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Host.Programs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Crm.Host.Admin;

/// <summary>
/// SPEC §5 <c>/health/ready</c>: the database answers and carries the migration, and the actor system answers;
/// clustered (SPEC §8), this node is also Up in the cluster. The database's part comes from what the service
/// already knows (<see cref="DatabaseContact"/>: its scans' and writes' statements, the LISTEN connection, its start
/// check); only when that is older than a minute does a probe run the start check, once for every probe meanwhile.
/// So a probe every 10 s costs the database nothing while LISTEN is open, and at most one check a minute otherwise.
/// </summary>
public sealed class ReadyCheck(IEnumerable<DatabaseCheck> databases, IRequiredActor<RootSupervisor> root, ConfigurationState config, ActorSystem system) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (config.Current.Cluster.Enabled && Akka.Cluster.Cluster.Get(system).SelfMember.Status is var status && status != Akka.Cluster.MemberStatus.Up)
            return HealthCheckResult.Unhealthy($"this node is {status} in the cluster, not Up");
        try
        {
            foreach (var database in databases)
            {
                if (await database.ReadinessAsync() is Readiness.NotReady notReady) return HealthCheckResult.Unhealthy(notReady.Why);
            }
            await ThisNode.StatusAsync(root, null, ct);
            return HealthCheckResult.Healthy(string.Concat(databases.Select(d => $"{d.Description} answers; ")) + "the actor system answers");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}

/// <summary>
/// How <c>/health/ready</c> knows the database: it answers and carries what the programs need (the program that
/// owns the database's use registers it), from what is known of it (<see cref="DatabaseContact"/>), checking it
/// at most once a minute; <paramref name="VerifyAsync"/> is the check itself (--once runs it before any actor starts).
/// </summary>
public sealed record DatabaseCheck(string Description, Func<Task<Readiness>> ReadinessAsync, Func<CancellationToken, Task> VerifyAsync);

/// <summary>A node's health is its own processes' (clustered, every node runs every program).</summary>
public static class ThisNode
{
    public static async Task<IReadOnlyList<ProgramInfo>> StatusAsync(IRequiredActor<RootSupervisor> root, string? program, CancellationToken ct) =>
        (await (await root.GetAsync(ct)).Ask<SupervisorMessages.StatusReport>(
            new SupervisorMessages.NodeRequest(new SupervisorMessages.GetStatus(program)), TimeSpan.FromSeconds(2), ct)).Programs;
}

/// <summary>
/// <c>/health/programs/NAME</c>, one per program: 200 while this node's process of the program is RUNNING, else 503
/// with its state and last error; the program's own checks (its registration's) are answered with it.
/// </summary>
public sealed class ProgramCheck(string program, IRequiredActor<RootSupervisor> root) : IHealthCheck
{
    public static string Tag(string program) => $"program:{program}";

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var status = (await ThisNode.StatusAsync(root, program, ct)).Single();
        var state = status.State.Name();
        var data = new Dictionary<string, object> { ["state"] = state, ["lastError"] = status.LastError ?? "" };
        if (status.Node is { } node) data["node"] = node;
        return status.State == ProgramState.Running
            ? HealthCheckResult.Healthy($"{program} is RUNNING", data)
            : HealthCheckResult.Unhealthy($"{program} is {state}", data: data);
    }
}

public static class ProgramChecks
{
    /// <summary>The tag of a check served at <paramref name="path"/>.</summary>
    public static string PathTag(string path) => "path:" + path;

    /// <summary>Every program's checks, each tagged with the program's name (and its own path, if it has one).</summary>
    public static IHealthChecksBuilder AddProgramChecks(this IHealthChecksBuilder checks, HostedPrograms programs)
    {
        foreach (var program in programs.All)
        {
            var name = program.Name;
            checks.Add(new HealthCheckRegistration(ProgramCheck.Tag(name),
                services => new ProgramCheck(name, services.GetRequiredService<IRequiredActor<RootSupervisor>>()), null, [ProgramCheck.Tag(name)]));
            foreach (var check in program.HealthChecks)
                checks.Add(new HealthCheckRegistration(check.Name, check.Create, null,
                    check.Path is { } path ? [ProgramCheck.Tag(name), PathTag(path)] : [ProgramCheck.Tag(name)]));
        }
        return checks;
    }

    /// <summary>
    /// <c>/health/programs</c> (every program's checks: what <c>crmctl health</c> asks beside ready),
    /// <c>/health/programs/NAME</c>, and each check that has a path of its own.
    /// </summary>
    public static void MapProgramChecks(this IEndpointRouteBuilder app, HostedPrograms programs)
    {
        app.MapHealthChecks("/health/programs", new HealthCheckOptions
        {
            Predicate = c => c.Tags.Any(t => t.StartsWith("program:", StringComparison.Ordinal)), ResponseWriter = HealthResponse.WriteAsync,
        });
        foreach (var program in programs.All)
        {
            app.MapHealthChecks($"/health/programs/{program.Name}",
                new HealthCheckOptions { Predicate = c => c.Tags.Contains(ProgramCheck.Tag(program.Name)), ResponseWriter = HealthResponse.WriteAsync });
            foreach (var path in program.HealthChecks.Select(c => c.Path).OfType<string>())
                app.MapHealthChecks(path, new HealthCheckOptions { Predicate = c => c.Tags.Contains(PathTag(path)), ResponseWriter = HealthResponse.WriteAsync });
        }
    }
}

public static class HealthResponse
{
    /// <summary>JSON: overall status and, per check, its status, description and data.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(JsonSerializer.Serialize(new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(e => e.Key, e => new
            {
                status = e.Value.Status.ToString(),
                description = e.Value.Description,
                data = e.Value.Data,
            }),
        }));
    }
}
