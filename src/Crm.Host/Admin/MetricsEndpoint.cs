using Crm.Actors.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Crm.Host.Admin;

/// <summary>SPEC §5 <c>/metrics</c>: the service's metrics as Prometheus text; read-only, so without a token.</summary>
public static class MetricsEndpoint
{
    public static void MapCrmMetrics(this IEndpointRouteBuilder app, string pattern) =>
        app.MapGet(pattern, () => Results.Text(PrometheusText.Write(CrmMetrics.Collect()), PrometheusText.ContentType));
}
