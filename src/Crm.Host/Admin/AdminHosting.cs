using Crm.Actors.Hosting;
using Crm.Host.Programs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Crm.Host.Admin;

/// <summary>The admin listener's services and routes, for the host and for tests that run other programs.</summary>
public static class AdminHosting
{
    /// <summary>The programs' services and every health check: live, ready, and each program's.</summary>
    public static IServiceCollection AddCrmAdmin(this IServiceCollection services, HostedPrograms programs)
    {
        foreach (var program in programs.All) program.AddServices(services);
        services.AddHealthChecks()
            .AddCheck("live", () => HealthCheckResult.Healthy("the process answers"), tags: ["live"])
            .AddCheck<ReadyCheck>("ready", tags: ["ready"])
            .AddProgramChecks(programs);
        return services;
    }

    /// <summary>/health/*, /metrics, the admin API with the programs' verbs and reads, and the dashboard with their panels.</summary>
    public static WebApplication MapCrmAdmin(this WebApplication app, CrmSettings settings, HostedPrograms programs)
    {
        app.UseAdminAccess(settings.Admin); // beyond loopback, everything but /health/* and /metrics needs the token
        foreach (var tag in new[] { "live", "ready" })
            app.MapHealthChecks($"/health/{tag}", new HealthCheckOptions { Predicate = c => c.Tags.Contains(tag), ResponseWriter = HealthResponse.WriteAsync });
        app.MapProgramChecks(programs);
        app.MapCrmMetrics("/metrics");
        app.MapAdminApi(settings, programs);
        app.MapClusterApi(settings);
        app.MapDashboardApi(programs);
        app.MapDashboard(settings, programs);
        return app;
    }
}
