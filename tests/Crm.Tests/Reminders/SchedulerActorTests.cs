using Akka.Actor;
using Akka.TestKit;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

public class SchedulerActorTests() : Akka.TestKit.Xunit2.TestKit(
    "akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
{
    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    [Fact]
    public async Task Should_scan_once_at_start_then_every_interval()
    {
        var scan = CreateTestProbe();
        var store = new SqliteReminderStore(Path.Combine(Directory.CreateTempSubdirectory("crm-scheduler-").FullName, "crm.db"));
        await store.MigrateAsync();
        Sys.ActorOf(SchedulerActor.Props(scan.Ref, store, TimeSpan.FromMinutes(5)));

        Assert.Equal("timer", scan.ExpectMsg<RunScan>().Trigger);
        scan.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        Clock.Advance(TimeSpan.FromMinutes(4));
        scan.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromMinutes(1));
        scan.ExpectMsg<RunScan>();
        Clock.Advance(TimeSpan.FromMinutes(5));
        scan.ExpectMsg<RunScan>();
    }
}
