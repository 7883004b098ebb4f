namespace Crm.Tests.Architecture;

/// <summary>
/// A program is one place: the generic code (supervision, configuration, telemetry, hosting, the admin listener and
/// its dashboard, logging, alerting, crmctl) names no program. Read from the sources, so that a program's name or
/// type written into a generic file fails here.
/// </summary>
public sealed class ProgramNamesTests
{
    private static readonly string Root = RepositoryRoot();

    private static readonly string[] GenericFolders =
    [
        "src/Crm.Actors/Supervision", "src/Crm.Actors/Configuration", "src/Crm.Actors/Telemetry", "src/Crm.Actors/Hosting",
        "src/Crm.Host/Admin", "src/Crm.Host/Logging", "src/Crm.Host/Alerting", "src/Crm.Ctl",
    ];

    /// <summary>What reminder_worker is called in code, in its API, its verb and its series.</summary>
    private static readonly string[] ProgramWords =
    [
        "reminder_worker", "ReminderWorker", "Crm.Actors.Reminders", "ReminderScan", "ScanHistory", "scan-now", "/api/scans", "/api/lateness",
        "crm_reminder", "crm_scan", "crm_notifications", "LatenessHistory", "ReminderSettings", "ReminderMetrics",
    ];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CrmActors.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("CrmActors.sln not found above " + AppContext.BaseDirectory);
    }

    public static IEnumerable<object[]> GenericFiles() =>
        GenericFolders.SelectMany(folder => Directory.EnumerateFiles(Path.Combine(Root, folder), "*", SearchOption.AllDirectories))
            .Where(file => Path.GetExtension(file) is ".cs" or ".js" or ".html" or ".css")
            .Where(file => !file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Select(file => new object[] { Path.GetRelativePath(Root, file) });

    [Theory]
    [MemberData(nameof(GenericFiles))]
    public void Should_name_no_program_in_a_generic_file(string file)
    {
        var lines = File.ReadAllLines(Path.Combine(Root, file));
        var found = lines.Select((line, i) => (Line: i + 1, Words: ProgramWords.Where(w => line.Contains(w, StringComparison.Ordinal)).ToList()))
            .Where(hit => hit.Words.Count > 0)
            .Select(hit => $"{file}:{hit.Line}: {string.Join(", ", hit.Words)}")
            .ToList();
        Assert.True(found.Count == 0, "a generic file names a program:\n" + string.Join('\n', found));
    }

    [Fact]
    public void Should_check_every_generic_folder()
    {
        Assert.All(GenericFolders, folder => Assert.True(Directory.Exists(Path.Combine(Root, folder)), folder));
        Assert.True(GenericFiles().Count() > 40);
    }
}
