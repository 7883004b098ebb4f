using Crm.Tests.Support;

namespace Crm.Tests.Hosting;

/// <summary><c>--once</c> is what cron calls: its exit code must say whether every due reminder was written.</summary>
[Trait("Category", "Integration")]
public class OnceOutcomeTests
{
    [Fact]
    public async Task Should_exit_1_saying_how_many_when_a_due_reminder_was_skipped()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 20);
        await db.ExecuteAsync("""
            UPDATE crm_interactions SET title = 'POISON' WHERE id IN (4, 11);
            ALTER TABLE notifications ADD CONSTRAINT no_poison CHECK (title <> 'Rappel: POISON');
            """);

        var (code, output) = await HostProcess.RunAsync(["--once"], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });

        Assert.Equal(1, code);
        Assert.Contains("2 due reminders were not written", output);
        Assert.Equal(18, await db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
    }

    [Fact]
    public async Task Should_exit_1_and_skip_nothing_when_the_database_refuses_every_row()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 20);
        await db.ExecuteAsync("ALTER TABLE notifications ADD CONSTRAINT short_titles CHECK (length(title) < 10)");

        var (code, output) = await HostProcess.RunAsync(["--once"], new Dictionary<string, string> { ["DATABASE_URL"] = db.Url });

        Assert.Equal(1, code);
        Assert.Contains("short_titles", output);
        Assert.Equal(0, await db.ScalarAsync<long>("SELECT count(*) FROM crm_actors.skipped_occurrences"));
    }
}
