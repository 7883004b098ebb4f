using Akka.Hosting;
using Crm.Actors.Supervision;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Crm.Host.Programs;

/// <summary>
/// A program as the host runs it, in one registration: its actors and settings (<see cref="Registration"/>), and
/// what the host shows and offers of it. Everything generic (supervision, configuration, telemetry, the admin
/// listener, the dashboard, crmctl) is made from the list of these and names no program.
/// </summary>
public abstract class HostedProgram
{
    /// <summary>Its name, and how it is made from the configuration: its actors and its settings with their defaults.</summary>
    public abstract ProgramRegistration Registration { get; }

    public string Name => Registration.Name;

    /// <summary>Actors of its own that outlive its restarts (the facts it keeps for its health and panels).</summary>
    public virtual void AddActors(AkkaConfigurationBuilder akka) { }

    /// <summary>Services of its own on the admin listener's host (what its checks and reads are made from).</summary>
    public virtual void AddServices(IServiceCollection services) { }

    /// <summary>Checks beyond "RUNNING", served at <c>/health/programs/NAME</c> with it and at their own path if they have one.</summary>
    public virtual IReadOnlyList<ProgramHealthCheck> HealthChecks => [];

    /// <summary>crmctl verbs of its own (<c>POST /api/VERB</c>, behind the admin token as every command).</summary>
    public virtual IReadOnlyList<ProgramVerb> Verbs => [];

    /// <summary>Read-only endpoints of its own under <c>/api</c> (what its dashboard panel reads).</summary>
    public virtual void MapReads(IEndpointRouteBuilder api) { }

    /// <summary>Its panel on the dashboard, if it has one.</summary>
    public virtual DashboardPanel? Panel => null;

    /// <summary>
    /// The file its own output goes to (<paramref name="stream"/>: stdout or stderr), as an OS process's; null: it
    /// writes through the host's log, to <c>NAME.log</c> and <c>NAME_error.log</c> in crm.logging.dir.
    /// </summary>
    public virtual string? OutputLog(string stream) => null;

    /// <summary>What <c>--once</c> does for it (a batch run); null: <c>--once</c> leaves it alone.</summary>
    public virtual OnceRun? Once => null;
}

/// <param name="Name">Its name among the host's checks (in the JSON of /health/*): unique on the host.</param>
/// <param name="Path">Where it is also served alone (SPEC §5's <c>/health/worker</c>, for instance); null: only with the program's.</param>
public sealed record ProgramHealthCheck(string Name, string? Path, Func<IServiceProvider, IHealthCheck> Create);

/// <param name="Name">The word typed after crmctl (<c>scan-now</c>).</param>
/// <param name="Usage">Its line in <c>crmctl help</c>: the arguments, then what it does.</param>
/// <param name="Run">Answers within a bound of its own (crmctl waits up to 5 minutes).</param>
public sealed record ProgramVerb(string Name, string Usage, Func<VerbRequest, Task<VerbAnswer>> Run);

public sealed record VerbRequest(IServiceProvider Services, IReadOnlyList<string> Arguments, CancellationToken Cancel);

/// <summary>What crmctl prints and exits with; <paramref name="Data"/>: the same answer as data, for scripts reading the API.</summary>
public sealed record VerbAnswer(int ExitCode, IReadOnlyList<string> Lines, object? Data = null);

/// <summary>
/// A panel on the dashboard: cards at a glance (shown above the programs), sections (below them), and a script
/// served at <c>/panels/NAME.js</c> that registers its refresh with the page's (<c>CrmDashboard.addPanel</c>).
/// </summary>
public sealed record DashboardPanel(string Cards, string Sections, string Script);

/// <summary>One <c>--once</c> pass of a program on a started host; the exit code (0 done, 1 failed).</summary>
public delegate Task<int> OnceRun(IServiceProvider services, CancellationToken cancel);

/// <summary>The files of a program's panel, embedded in this assembly from <c>Programs/NAME/wwwroot</c>.</summary>
public static class PanelResources
{
    public static string Read(string name)
    {
        using var stream = typeof(PanelResources).Assembly.GetManifestResourceStream("Crm.Host.Programs." + name)
            ?? throw new InvalidOperationException($"the panel file {name} is not embedded in Crm.Host");
        using var reader = new StreamReader(stream, System.Text.Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
