using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Tests.Support;

namespace Crm.Tests.Storage;

/// <summary>The outlook's parked count: the occurrences in skipped_occurrences, for the crm_reminders_skipped_parked gauge.</summary>
[Trait("Category", "Integration")]
public class SkippedCountTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 28, 9, 0, 0, TimeSpan.Zero);

    private static async Task CountsEachOccurrenceOnceAsync(IReminderStore store)
    {
        Assert.Equal(0, (await store.OutlookAsync()).Parked);

        await store.RecordSkippedAsync(new ReminderOccurrence(1, At), "too long");
        await store.RecordSkippedAsync(new ReminderOccurrence(1, At), "too long"); // reported once: counted once
        await store.RecordSkippedAsync(new ReminderOccurrence(1, At.AddDays(1)), "too long"); // the moved date: a new occurrence
        await store.RecordSkippedAsync(new ReminderOccurrence(2, At), "bad assignee");

        Assert.Equal(3, (await store.OutlookAsync()).Parked);
    }

    [Fact]
    public async Task Should_count_the_parked_occurrences_on_postgresql()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var store = db.Store();

        await CountsEachOccurrenceOnceAsync(store);
    }

    [Fact]
    public async Task Should_count_the_parked_occurrences_on_sqlite()
    {
        await using var store = new SqliteReminderStore(Path.Combine(Directory.CreateTempSubdirectory("crm-skipped-").FullName, "crm.db"));
        await store.MigrateAsync();

        await CountsEachOccurrenceOnceAsync(store);
    }
}
