using Akka.Configuration;

namespace Crm.Actors.Supervision;

/// <summary>What a program is made from: the host's configuration and its own <c>crm.programs.NAME</c> settings.</summary>
/// <param name="Config">The whole configuration (defaults, file): the program reads its own section.</param>
/// <param name="Once">The host runs one pass (<c>--once</c>) rather than the service.</param>
/// <param name="Demo">The host runs the demonstration (<c>--demo</c>).</param>
public sealed record ProgramContext(Config Config, ProgramSettings Supervision, bool Once = false, bool Demo = false);

/// <summary>A program as the host knows it: its name and how it is made from the configuration.</summary>
/// <param name="Define">Reads the program's settings (throwing ConfigurationException on a bad value) and makes it.</param>
public sealed record ProgramRegistration(string Name, Func<ProgramContext, ProgramDefinition> Define);

/// <summary>
/// The programs a host runs, each registered by one line in the host's Program.cs. Everything keyed
/// by program (supervision, logs, metrics, admin routes) is made from this list.
/// </summary>
public sealed class ProgramCatalog
{
    private readonly List<ProgramRegistration> _registrations = [];

    public IReadOnlyList<string> Names => [.. _registrations.Select(r => r.Name)];

    public bool Contains(string name) => _registrations.Any(r => r.Name == name);

    public ProgramCatalog Add(ProgramRegistration registration)
    {
        if (Contains(registration.Name)) throw new ArgumentException($"a program named {registration.Name} is registered already", nameof(registration));
        _registrations.Add(registration);
        return this;
    }

    /// <summary>Every program, made from <paramref name="context"/>'s answer for its name.</summary>
    public IReadOnlyList<ProgramDefinition> Define(Func<string, ProgramContext> context) =>
        [.. _registrations.Select(r => r.Define(context(r.Name)) is var definition && definition.Name == r.Name
            ? definition
            : throw new InvalidOperationException($"the registration of {r.Name} made a program named otherwise"))];
}
