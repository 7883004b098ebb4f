using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Host.Admin;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Crm.Host.Programs.ReminderWorker;

/// <summary>
/// reminder_worker as the host runs it: the scheduler, scan and writers on <paramref name="store"/>, the scans'
/// facts beside them, <c>/health/worker</c>, <c>crmctl scan-now</c>, the scans and lateness of the dashboard, and
/// <c>--once</c>'s pass.
/// </summary>
public sealed class ReminderWorkerProgram(IReminderStore store) : HostedProgram
{
    private static readonly TimeSpan AskTimeout = AdminAsk.Timeout;

    public override ProgramRegistration Registration { get; } = ReminderWorkerRegistration.Registration(store);

    public override void AddActors(AkkaConfigurationBuilder akka) => akka.WithScanHistory();

    /// <summary>/health/ready's database check is this program's: the CRM's tables it writes, and its notification type.</summary>
    public override void AddServices(IServiceCollection services) =>
        services.AddSingleton(provider =>
        {
            Task VerifyAsync(CancellationToken cancel) => store.VerifyAsync(provider.GetRequiredService<ConfigurationState>().Current.Reminders.Template, cancel);
            return new DatabaseCheck(store.Description, () => store.Contact.ReadinessAsync(async () =>
            {
                // Not a probe's token: the check is shared, and a probe that gives up must not cancel it for the others.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await VerifyAsync(timeout.Token);
            }), VerifyAsync);
        });

    public override IReadOnlyList<ProgramHealthCheck> HealthChecks { get; } =
    [
        new("worker", "/health/worker", services => ActivatorUtilities.CreateInstance<WorkerCheck>(services, store)),
    ];

    public override IReadOnlyList<ProgramVerb> Verbs { get; } = [new("scan-now", "one reminder scan, now", ScanNowAsync)];

    public override DashboardPanel Panel { get; } = new(
        PanelResources.Read("reminder_worker.cards.html"), PanelResources.Read("reminder_worker.sections.html"), PanelResources.Read("reminder_worker.js"));

    public override OnceRun Once => ReminderOnce.RunAsync;

    public override void MapReads(IEndpointRouteBuilder api)
    {
        api.MapGet("/scans", async (HttpRequest request, IRequiredActor<ScanHistoryActor> history) =>
        {
            var last = AdminQuery.WholeNumber("last", request.Query["last"], ScanHistoryActor.Capacity);
            if (last.Error is { } error) return Results.BadRequest(new AdminApi.Error(error));
            var scans = await (await history.GetAsync()).Ask<ScanHistoryActor.Scans>(new ScanHistoryActor.GetScans((int)(last.Value ?? 50)), AskTimeout);
            var metrics = ReminderMetrics.Process;
            return Results.Ok(new ReminderApi.ScansReport((long)metrics.DueBacklog.Value, (long)metrics.SkippedParked.Value,
            [
                .. scans.Newest.Select(s => new ReminderApi.Scan(s.At, s.Trigger, s.Completed, s.Found, s.Written, s.NotDue, s.Skipped, s.Batches,
                    s.Duration is { } d ? (long)d.TotalMilliseconds : null, s.Error, s.Held)),
            ]));
        });

        api.MapGet("/lateness", (HttpRequest request) =>
        {
            var history = LatenessHistory.Written;
            var minutes = AdminQuery.WholeNumber("minutes", request.Query["minutes"], history.Capacity);
            if (minutes.Error is { } error) return Results.BadRequest(new AdminApi.Error(error));
            var window = history.Read(DateTimeOffset.UtcNow, (int)(minutes.Value ?? 180));
            return Results.Ok(new ReminderApi.Lateness(window.Bounds, [.. window.Minutes.Select(Minute)], Minute(window.Total)));
        });
    }

    private static ReminderApi.LatenessMinute Minute(LatenessHistory.Minute m) => new(m.At, m.Count, m.Mean, m.P50, m.P95, m.P99, m.Max, m.Buckets);

    /// <summary>One scan at once, answered when it ends (bounded by batch-timeout): <c>scan: 3 found, 3 notified, 0 skipped (211 ms)</c>.</summary>
    private static async Task<VerbAnswer> ScanNowAsync(VerbRequest request)
    {
        if (request.Arguments.Count > 0) return new VerbAnswer(2, ["scan-now takes no arguments"]);
        var root = await request.Services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync(request.Cancel);
        var config = request.Services.GetRequiredService<ConfigurationState>();
        var answer = await root.Ask<object>(
            new SupervisorMessages.ToProgram(ReminderWorkerActor.ProgramName, new ReminderScanMessages.RunScan("operator")),
            config.Current.Reminders.BatchTimeout + AskTimeout, request.Cancel);
        var scan = answer switch
        {
            ReminderScanMessages.ScanCompleted done => new ReminderApi.ScanResult(true, done.Report.Found, done.Report.Outcome.Written,
                done.Report.Outcome.Skipped, done.Report.Outcome.NotDue, (long)done.Report.Duration.TotalMilliseconds, "completed", done.Report.Outcome.Held),
            ReminderScanMessages.ScanFailed failed => new ReminderApi.ScanResult(false, 0, 0, 0, 0, 0, failed.Reason),
            _ => new ReminderApi.ScanResult(false, 0, 0, 0, 0, 0, $"unexpected answer {answer}"),
        };
        return new VerbAnswer(scan.Completed ? 0 : 1, [ScanLine(scan)], scan);
    }

    public static string ScanLine(ReminderApi.ScanResult scan) => scan.Completed
        ? $"scan: {scan.Found} found, {scan.Written} notified, {scan.Skipped} skipped{(scan.Held > 0 ? $", {scan.Held} held by another instance" : "")} ({scan.DurationMs} ms)"
        : $"scan: ERROR ({scan.Message})";
}

/// <summary>reminder_worker's shapes in docs/admin-api.md.</summary>
public static class ReminderApi
{
    /// <param name="Held">Due rows another transaction held (another instance writing them): looked at again within held-recheck.</param>
    public sealed record ScanResult(bool Completed, int Found, int Written, int Skipped, int NotDue, long DurationMs, string Message, int Held = 0);

    public sealed record Scan(DateTimeOffset At, string Trigger, bool Completed, int Found, int Written, int NotDue, int Skipped,
        int Batches, long? DurationMs, string? Error, int Held);

    public sealed record ScansReport(long Backlog, long Parked, IReadOnlyList<Scan> Scans);

    public sealed record LatenessMinute(DateTimeOffset At, long Count, double? Mean, double? P50, double? P95, double? P99, double? Max,
        IReadOnlyList<long> Buckets);

    public sealed record Lateness(IReadOnlyList<double> Bounds, IReadOnlyList<LatenessMinute> Minutes, LatenessMinute Window);
}

/// <summary>SPEC §5 <c>/health/worker</c>: this node's reminder_worker RUNNING and a scan succeeded within two intervals.</summary>
public sealed class WorkerCheck(
    IReminderStore store, IRequiredActor<RootSupervisor> root, IRequiredActor<ScanHistoryActor> health, ConfigurationState config)
    : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken ct = default)
    {
        var status = (await ThisNode.StatusAsync(root, ReminderWorkerActor.ProgramName, ct)).Single();
        var scans = await (await health.GetAsync(ct)).Ask<ScanHistoryActor.Health>(ScanHistoryActor.GetHealth.Instance, TimeSpan.FromSeconds(2), ct);
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
