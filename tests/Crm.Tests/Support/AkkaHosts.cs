using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Crm.Tests.Support;

/// <summary>
/// Actor systems for the tests, made as Program.cs makes the host's: a generic host with Akka.Hosting and the
/// service's own <see cref="AkkaConfigurationBuilder"/> extensions (Akka.Hosting.TestKit would need xunit v3).
/// </summary>
public static class AkkaHosts
{
    /// <summary>A started host's actor system; terminating it disposes the host.</summary>
    public static async Task<ActorSystem> StartAsync(Action<AkkaConfigurationBuilder> configure)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka($"crm-{Guid.NewGuid():N}", configure);
        var host = builder.Build();
        await host.StartAsync();
        var system = host.Services.GetRequiredService<ActorSystem>();
        _ = system.WhenTerminated.ContinueWith(_ => host.Dispose(), TaskScheduler.Default);
        return system;
    }
}
