using Crm.Actors.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Prometheus;

namespace Crm.Host.Admin;

/// <summary>SPEC §5 <c>/metrics</c>: the service's metrics as Prometheus text; read-only, so without a token.</summary>
public static class MetricsEndpoint
{
    /// <summary>
    /// prometheus-net's exporter over the service's own registry (<see cref="CrmMetrics.Registry"/>), always in the
    /// text format 0.0.4 that promtool checks. With OpenMetrics, which Prometheus asks for first, the buckets' bounds
    /// would be written <c>le="600.0"</c> instead of <c>le="600"</c>, and a Prometheus before 3.0 keeps them as
    /// written: the rules and dashboards that match <c>le="600"</c> would find nothing. GET only, as before.
    /// </summary>
    public static void MapCrmMetrics(this IEndpointRouteBuilder app, string pattern) =>
        app.MapMetrics(settings =>
            {
                settings.Registry = CrmMetrics.Registry;
                settings.EnableOpenMetrics = false;
            }, pattern)
            .WithMetadata(new HttpMethodMetadata(["GET"]));
}
