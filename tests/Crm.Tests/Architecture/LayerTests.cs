using System.Text.RegularExpressions;

namespace Crm.Tests.Architecture;

/// <summary>
/// The folders of Crm.Actors as layers: the domain depends on nothing, and no two folders depend on each other in
/// a cycle. Read from the sources (a <c>using</c> or a qualified name of another folder's namespace), so a new
/// reference that closes a cycle fails here, not in a review.
/// </summary>
public sealed partial class LayerTests
{
    private static readonly string Sources = Path.Combine(RepositoryRoot(), "src", "Crm.Actors");

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CrmActors.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("CrmActors.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"\bCrm\.Actors\.([A-Z][A-Za-z]*)")]
    private static partial Regex ActorsNamespace();

    [GeneratedRegex(@"^using\s+(?:static\s+)?([A-Za-z][A-Za-z0-9.]*)", RegexOptions.Multiline)]
    private static partial Regex Using();

    /// <summary>Each folder, and the other folders its files refer to.</summary>
    private static Dictionary<string, HashSet<string>> Dependencies() =>
        Directory.GetDirectories(Sources).Select(Path.GetFileName)
            .Where(name => name is not ("bin" or "obj") && Directory.GetFiles(Path.Combine(Sources, name!), "*.cs").Length > 0)
            .ToDictionary(name => name!, name => Directory.GetFiles(Path.Combine(Sources, name!), "*.cs")
                .SelectMany(file => ActorsNamespace().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value))
                .Where(other => other != name)
                .ToHashSet());

    [Fact]
    public void Should_find_the_folders_it_checks()
    {
        string[] layers = ["Configuration", "Domain", "Hosting", "Reminders", "Storage", "Supervision", "Telemetry"];
        Assert.Empty(layers.Except(Dependencies().Keys));
    }

    [Fact]
    public void Should_keep_the_domain_free_of_every_other_folder_and_of_every_library()
    {
        var domain = Path.Combine(Sources, "Domain");
        var usings = Directory.GetFiles(domain, "*.cs").SelectMany(file => Using().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value));

        Assert.Empty(Dependencies()["Domain"]);
        Assert.All(usings, name => Assert.StartsWith("System", name));
    }

    [Fact]
    public void Should_keep_the_supervision_ignorant_of_every_program_and_of_storage()
    {
        Assert.Equal(["Telemetry"], Dependencies()["Supervision"].Order());
        Assert.Empty(Dependencies()["Telemetry"]);
    }

    [Fact]
    public void Should_have_no_dependency_cycle_between_folders()
    {
        var graph = Dependencies();
        foreach (var start in graph.Keys)
        {
            // Every folder reachable from start; start itself among them is a cycle.
            var seen = new HashSet<string>();
            var next = new Stack<string>(graph[start]);
            while (next.TryPop(out var folder))
            {
                Assert.False(folder == start, $"{start} depends on itself through {string.Join(", ", seen.Order())}");
                if (seen.Add(folder) && graph.TryGetValue(folder, out var further))
                    foreach (var f in further) next.Push(f);
            }
        }
    }
}
