using System.Text.RegularExpressions;
using Akka.Hosting;
using Crm.Actors.Supervision;

namespace Crm.Host.Programs;

/// <summary>
/// The programs a host runs, each added by one line in Program.cs. The supervision's catalog, the admin routes, the
/// health checks, the dashboard's panels, crmctl's verbs and <c>--once</c> are all made from this list.
/// </summary>
public sealed partial class HostedPrograms
{
    /// <summary>
    /// crmctl's own words and the first segments of the admin API's own paths (a verb is <c>POST /api/VERB</c>): a
    /// program's verb may be neither. The programs' own read paths are GETs: a verb of the same name does not meet them.
    /// </summary>
    public static readonly IReadOnlySet<string> ReservedVerbs = new HashSet<string>(StringComparer.Ordinal)
    {
        "status", "start", "stop", "restart", "tail", "pid", "signal", "reread", "update", "actor", "log", "events", "health",
        "cluster", "help", "verbs", "programs", "logs", "actors",
    };

    private readonly List<HostedProgram> _programs = [];

    public ProgramCatalog Catalog { get; } = new();

    public IReadOnlyList<HostedProgram> All => _programs;

    public IEnumerable<ProgramVerb> Verbs => _programs.SelectMany(p => p.Verbs);

    [GeneratedRegex("^[a-z][a-z0-9-]{0,40}$")]
    private static partial Regex VerbName();

    public HostedPrograms Add(HostedProgram program)
    {
        foreach (var verb in program.Verbs)
        {
            if (!VerbName().IsMatch(verb.Name) || ReservedVerbs.Contains(verb.Name) || Verbs.Any(v => v.Name == verb.Name))
                throw new ArgumentException($"{program.Name}'s verb {verb.Name} is taken or not a lowercase word", nameof(program));
        }
        if (program.HealthChecks.FirstOrDefault(c => c.Name == "live" || c.Name == "ready" || _programs.Any(p => p.HealthChecks.Any(o => o.Name == c.Name)))
            is { } taken)
            throw new ArgumentException($"{program.Name}'s health check {taken.Name} is named as another check", nameof(program));
        Catalog.Add(program.Registration);
        _programs.Add(program);
        return this;
    }

    /// <summary>Every program's own actors.</summary>
    public AkkaConfigurationBuilder AddActors(AkkaConfigurationBuilder akka)
    {
        foreach (var program in _programs) program.AddActors(akka);
        return akka;
    }
}
