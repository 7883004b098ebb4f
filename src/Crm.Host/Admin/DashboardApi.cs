using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Crm.Host.Admin;

public static partial class AdminApi
{
    public sealed record Scan(DateTimeOffset At, string Trigger, bool Completed, int Found, int Written, int NotDue, int Skipped,
        int Batches, long? DurationMs, string? Error, int Held);

    public sealed record ScansReport(long Backlog, long Parked, IReadOnlyList<Scan> Scans);

    public sealed record LatenessMinute(DateTimeOffset At, long Count, double? Mean, double? P50, double? P95, double? P99, double? Max,
        IReadOnlyList<long> Buckets);

    public sealed record Lateness(IReadOnlyList<double> Bounds, IReadOnlyList<LatenessMinute> Minutes, LatenessMinute Window);

    public sealed record ClusterMember(string Address, IReadOnlyList<string> Roles, string Status, bool Reachable, string Version,
        IReadOnlyList<string> Programs);

    public sealed record Cluster(bool Clustered, IReadOnlyList<ClusterMember> Members);
}

/// <summary>
/// What the dashboard (SPEC §10) reads beside crmctl's endpoints, documented in docs/admin-api.md: the last scans
/// with the backlog, the lateness of written notifications per minute, and the cluster's members. Read-only.
/// </summary>
public static class DashboardApi
{
    private static readonly TimeSpan AskTimeout = AdminAsk.Timeout;

    public static void MapDashboardApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/scans", async (HttpRequest request, IRequiredActor<ScanHistoryActor> history) =>
        {
            var last = AdminQuery.WholeNumber("last", request.Query["last"], ScanHistoryActor.Capacity);
            if (last.Error is { } error) return Results.BadRequest(new AdminApi.Error(error));
            var scans = await (await history.GetAsync()).Ask<ScanHistoryActor.Scans>(new ScanHistoryActor.GetScans((int)(last.Value ?? 50)), AskTimeout);
            return Results.Ok(new AdminApi.ScansReport(Gauge("crm_reminders_due_backlog"), Gauge("crm_reminders_skipped_parked"),
            [
                .. scans.Newest.Select(s => new AdminApi.Scan(s.At, s.Trigger, s.Completed, s.Found, s.Written, s.NotDue, s.Skipped, s.Batches,
                    s.Duration is { } d ? (long)d.TotalMilliseconds : null, s.Error, s.Held)),
            ]));
        });

        app.MapGet("/api/lateness", (HttpRequest request) =>
        {
            var history = LatenessHistory.Written;
            var minutes = AdminQuery.WholeNumber("minutes", request.Query["minutes"], history.Capacity);
            if (minutes.Error is { } error) return Results.BadRequest(new AdminApi.Error(error));
            var window = history.Read(DateTimeOffset.UtcNow, (int)(minutes.Value ?? 180));
            return Results.Ok(new AdminApi.Lateness(window.Bounds, [.. window.Minutes.Select(Minute)], Minute(window.Total)));
        });

    }

    private static AdminApi.LatenessMinute Minute(LatenessHistory.Minute m) => new(m.At, m.Count, m.Mean, m.P50, m.P95, m.P99, m.Max, m.Buckets);

    /// <summary>A gauge as /metrics writes it: one source for both.</summary>
    private static long Gauge(string name) => CrmMetrics.GaugeValue(name);
}
