namespace Crm.Tests.Architecture;

/// <summary>
/// Supervision is tested on a program written for its tests (Supervision/StubProgram.cs), whose starts, failures and
/// stops the test decides; the reminder worker under supervision is tested in Reminders/. Read from the sources, so
/// that a supervision test that runs the reminder worker again fails here.
/// </summary>
public sealed class SupervisionTestProgramTests
{
    private static readonly string Root = RepositoryRoot();

    private const string SupervisionTests = "tests/Crm.Tests/Supervision";

    /// <summary>What the reminder worker is called in code: its namespace, its types, its program name.</summary>
    private static readonly string[] WorkerWords = ["Crm.Actors.Reminders", "ReminderWorker", "reminder_worker"];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "CrmActors.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException("CrmActors.sln not found above " + AppContext.BaseDirectory);
    }

    public static IEnumerable<object[]> SupervisionTestFiles() =>
        Directory.EnumerateFiles(Path.Combine(Root, SupervisionTests), "*.cs", SearchOption.AllDirectories)
            .Select(file => new object[] { Path.GetRelativePath(Root, file) });

    [Theory]
    [MemberData(nameof(SupervisionTestFiles))]
    public void Should_test_supervision_on_the_stub_program_and_never_on_the_reminder_worker(string file)
    {
        var found = File.ReadAllLines(Path.Combine(Root, file))
            .Select((line, i) => (Line: i + 1, Words: WorkerWords.Where(w => line.Contains(w, StringComparison.Ordinal)).ToList()))
            .Where(hit => hit.Words.Count > 0)
            .Select(hit => $"{file}:{hit.Line}: {string.Join(", ", hit.Words)}")
            .ToList();
        Assert.True(found.Count == 0, "a supervision test names the reminder worker (its tests belong in tests/Crm.Tests/Reminders):\n" + string.Join('\n', found));
    }

    [Fact]
    public void Should_read_the_supervision_tests_and_the_stub_they_run()
    {
        var files = SupervisionTestFiles().Select(f => Path.GetFileName((string)f[0])).ToList();
        Assert.Contains("StubProgram.cs", files);
        Assert.Contains("ProgramSupervisorTests.cs", files);
        Assert.Contains("SupervisorJournalTests.cs", files);
    }
}
