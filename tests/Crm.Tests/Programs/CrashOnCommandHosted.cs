using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Supervision;
using Crm.Host.Programs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Crm.Tests.Programs;

/// <summary>
/// <see cref="CrashOnCommandProgram"/> as the host runs it, with what its registration alone brings: a health check
/// of its own (<c>/health/greeting</c>, with the program's) and a crmctl verb (<c>crmctl greet NAME</c>).
/// </summary>
public sealed class CrashOnCommandHosted : HostedProgram
{
    /// <summary>What the greeting check answers: set by the test.</summary>
    public bool Sick { get; set; }

    public override ProgramRegistration Registration => CrashOnCommandRegistration.Registration;

    public override IReadOnlyList<ProgramHealthCheck> HealthChecks => [new("greeting", "/health/greeting", _ => new GreetingCheck(this))];

    public override IReadOnlyList<ProgramVerb> Verbs { get; } = [new("greet", "NAME: the program greets NAME", GreetAsync)];

    private static async Task<VerbAnswer> GreetAsync(VerbRequest request)
    {
        if (request.Arguments is not [var name]) return new VerbAnswer(2, ["greet takes one name"]);
        var root = await request.Services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync(request.Cancel);
        var answer = await root.Ask<object>(new SupervisorMessages.ToProgram(CrashOnCommandProgram.ProgramName, new CrashOnCommandProgram.Ping(name)),
            TimeSpan.FromSeconds(5), request.Cancel);
        return answer is CrashOnCommandProgram.Pong pong ? new VerbAnswer(0, [pong.Greeting], pong) : new VerbAnswer(1, [$"greet: ERROR ({answer})"]);
    }

    private sealed class GreetingCheck(CrashOnCommandHosted program) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            Task.FromResult(program.Sick ? HealthCheckResult.Unhealthy("told to be sick") : HealthCheckResult.Healthy("greets"));
    }
}
