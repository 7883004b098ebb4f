using System.Collections.Concurrent;
using Akka.TestKit.Xunit2;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Tests.Support;
using static Crm.Actors.Reminders.SchedulerMessages;

namespace Crm.Tests.Storage;

/// <summary>What the scheduler plans from (SPEC §9): the outlook of both stores, and PostgreSQL's announcements.</summary>
[Trait("Category", "Integration")]
public class OutlookAndChangeFeedTests : TestKit
{
    private static string Interaction(int id, string at, string status = "todo", string assignee = "1") => $"""
        INSERT INTO crm_interactions (id, {CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
        VALUES ({id}, {CrmRows.InteractionValues()}, 'Interaction {id}', '{status}', {assignee}, {at});
        """;

    [Fact]
    public async Task Should_report_the_next_due_time_the_backlog_and_the_parked_on_PostgreSQL()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync(CrmRows.Users(1) + CrmRows.Organisation
            + Interaction(1, "now() - interval '1 minute'") + Interaction(2, "now() - interval '2 minutes'")
            + Interaction(3, "now() + interval '1 hour'") + Interaction(4, "now() + interval '10 minutes'", status: "done")
            + Interaction(5, "now() + interval '5 minutes'", assignee: "NULL") + Interaction(6, "now() + interval '2 hours'"));
        await using var store = db.Store();
        await store.RecordSkippedAsync(new ReminderOccurrence(99, DateTimeOffset.UnixEpoch), "test");

        var outlook = await store.OutlookAsync();

        Assert.InRange(outlook.NextDueIn!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(60));
        Assert.Equal((2, 1), (outlook.DueBacklog, outlook.Parked));
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = now()");
        Assert.Null((await store.OutlookAsync()).NextDueIn);
    }

    [Fact]
    public async Task Should_report_the_next_due_time_on_SQLite()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-outlook-").FullName, "crm.db");
        await using var store = new SqliteReminderStore(path);
        await store.MigrateAsync();
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await DueRuleSqlTests.Execute(connection, "INSERT INTO users (id, email) VALUES (1, 'a@example.com')");
        foreach (var (offset, status) in new[] { (-60, "todo"), (3600, "todo"), (600, "done") })
            await DueRuleSqlTests.Execute(connection, "INSERT INTO crm_interactions (title, status, assignee_id, next_action_at) VALUES ('x', @status, 1, @at)",
                ("@status", status), ("@at", ReminderOccurrence.FormatInstant(DateTimeOffset.UtcNow.AddSeconds(offset))));

        var outlook = await store.OutlookAsync();

        Assert.InRange(outlook.NextDueIn!.Value, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(60));
        Assert.Equal((1, 0), (outlook.DueBacklog, outlook.Parked));
    }

    [Fact]
    public async Task Should_announce_new_and_moved_reminders_and_not_the_service_s_own_writes()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.ExecuteAsync(CrmRows.Users(1) + CrmRows.Organisation);
        await using var store = db.Store();
        var announced = new ConcurrentQueue<DateTimeOffset>();
        var listening = new TaskCompletionSource<bool>();
        using var stop = new CancellationTokenSource();
        var listen = store.ListenAsync(present => listening.TrySetResult(present), announced.Enqueue, stop.Token);
        Assert.True(await listening.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the trigger is in place");

        await db.ExecuteAsync(Interaction(1, "'2030-01-01 10:00:00+00'"));                       // new
        await db.ExecuteAsync("UPDATE crm_interactions SET next_action_at = '2030-01-01 09:00:00+00'"); // moved
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = now()");                  // the service's marking
        await db.ExecuteAsync("UPDATE crm_interactions SET notified_at = NULL, status = 'done'");  // closed
        await db.ExecuteAsync("UPDATE crm_interactions SET body = 'notes'");                       // other columns
        await db.ExecuteAsync("UPDATE crm_interactions SET status = 'todo'");                      // reopened: waits again

        await Eventually.HoldsAsync(() => Task.FromResult(announced.Count >= 3), TimeSpan.FromSeconds(30), "three announcements");
        await Task.Delay(300); // a fourth would come with them
        Assert.Equal(
            [DateTimeOffset.Parse("2030-01-01T10:00:00Z"), DateTimeOffset.Parse("2030-01-01T09:00:00Z"), DateTimeOffset.Parse("2030-01-01T09:00:00Z")],
            announced.ToArray());
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => listen);
    }

    [Fact]
    public async Task Should_reconnect_a_lost_LISTEN_connection_and_tell_the_scheduler_down_then_up()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await using var store = db.Store();
        var scheduler = CreateTestProbe();
        Sys.ActorOf(ReminderListenerActor.Props(store, scheduler.Ref, TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(1)));
        await scheduler.ExpectMsgAsync<ListenerUp>(TimeSpan.FromSeconds(30));

        await db.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'crm-actors listen'");

        await scheduler.ExpectMsgAsync<ListenerDown>(TimeSpan.FromSeconds(30));
        await scheduler.ExpectMsgAsync<ListenerUp>(TimeSpan.FromSeconds(30));
        await db.ExecuteAsync(CrmRows.Users(1) + CrmRows.Organisation + Interaction(1, "'2030-01-01 10:00:00+00'"));
        Assert.Equal(DateTimeOffset.Parse("2030-01-01T10:00:00Z"), (await scheduler.ExpectMsgAsync<ReminderChanged>(TimeSpan.FromSeconds(30))).DueAt);
    }
}
