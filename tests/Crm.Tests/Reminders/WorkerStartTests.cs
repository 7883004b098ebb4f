using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Tests.Support;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

/// <summary>A request that reaches the program while it starts is answered even when the start fails.</summary>
public class WorkerStartTests : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task Should_answer_a_scan_request_waiting_for_a_start_that_fails_instead_of_dropping_it()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-start-").FullName, "crm.db");
        await using var sqlite = new SqliteReminderStore(path);
        await sqlite.MigrateAsync();
        var store = new FaultInjectingStore(sqlite) { FailFirstStarts = 1, VerifyGate = new TaskCompletionSource() };
        var worker = Sys.ActorOf(ReminderWorkerActor.Props(store, ReminderSettings.Default, periodic: false));

        worker.Tell(new RunScan("once"), TestActor); // stashed: the start check has not answered yet
        await AwaitConditionAsync(() => Task.FromResult(store.Verifications == 1));
        store.VerifyGate.SetResult();     // ... and now it fails

        var failed = await ExpectMsgAsync<ScanFailed>();
        Assert.Equal("once", failed.Trigger);
        Assert.Contains("could not start", failed.Reason);
    }
}
