using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
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
public sealed class ReadyCheck(IReminderStore store, IRequiredActor<RootSupervisor> root, ConfigurationState config, ActorSystem system) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        if (config.Current.Cluster.Enabled && Akka.Cluster.Cluster.Get(system).SelfMember.Status is var status && status != Akka.Cluster.MemberStatus.Up)
            return HealthCheckResult.Unhealthy($"this node is {status} in the cluster, not Up");
        try
        {
            var database = await store.Contact.ReadinessAsync(async () =>
            {
                // Not the probe's token: the check is shared, and a probe that gives up must not cancel it for the others.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await store.VerifyAsync(config.Current.Reminders.Template, timeout.Token);
            });
            if (database is Readiness.NotReady notReady) return HealthCheckResult.Unhealthy(notReady.Why);
            await ThisNode.StatusAsync(root, null, ct);
            return HealthCheckResult.Healthy($"{store.Description} answers: {((Readiness.Ready)database).Why}; the actor system answers");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}

/// <summary>A node's health is its own processes' (clustered, every node runs every program).</summary>
public static class ThisNode
{
    public static async Task<IReadOnlyList<ProgramInfo>> StatusAsync(IRequiredActor<RootSupervisor> root, string? program, CancellationToken ct) =>
        (await (await root.GetAsync(ct)).Ask<SupervisorMessages.StatusReport>(
            new SupervisorMessages.NodeRequest(new SupervisorMessages.GetStatus(program)), TimeSpan.FromSeconds(2), ct)).Programs;
}

/// <summary>SPEC §5 <c>/health/worker</c>: this node's reminder_worker RUNNING and a scan succeeded within two intervals.</summary>
public sealed class WorkerCheck(
    IRequiredActor<RootSupervisor> root, IRequiredActor<ScanHistoryActor> health, ConfigurationState config, IReminderStore store)
    : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var timeout = TimeSpan.FromSeconds(2);
        var status = (await ThisNode.StatusAsync(root, ReminderWorkerActor.ProgramName, ct)).Single();
        var scans = await (await health.GetAsync(ct)).Ask<ScanHistoryActor.Health>(ScanHistoryActor.GetHealth.Instance, timeout);
        var data = new Dictionary<string, object>
        {
            ["state"] = status.State.Name(),
            ["lastScanAt"] = scans.LastScanAt?.ToString("O") ?? "",
            ["lastSuccessAt"] = scans.LastSuccessAt?.ToString("O") ?? "",
            ["lastError"] = scans.LastError ?? status.LastError ?? "",
        };
        // An idle host scans once per safety-net tick: listen-interval where the database announces changes.
        var tick = config.Current.Reminders.SafetyInterval(listening: store is IReminderChangeFeed);
        var healthy = ScanHistoryActor.IsHealthy(status.State == ProgramState.Running, scans, tick, DateTimeOffset.UtcNow);
        return healthy
            ? HealthCheckResult.Healthy("reminder_worker is RUNNING and scanning", data)
            : HealthCheckResult.Unhealthy("reminder_worker is not RUNNING, or no scan succeeded within two intervals", data: data);
    }
}

/// <summary>
/// <c>/health/programs/NAME</c>, one per program of the catalog: 200 while this node's process of the program is
/// RUNNING, else 503 with its state and last error. The program's own deeper checks (such as
/// reminder_worker's scans, <c>/health/worker</c>) stay beside it.
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
    /// <summary>One check per program, tagged with its name.</summary>
    public static IHealthChecksBuilder AddProgramChecks(this IHealthChecksBuilder checks, IEnumerable<string> programs)
    {
        foreach (var program in programs)
            checks.Add(new HealthCheckRegistration(ProgramCheck.Tag(program),
                services => new ProgramCheck(program, services.GetRequiredService<IRequiredActor<RootSupervisor>>()), null, [ProgramCheck.Tag(program)]));
        return checks;
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
