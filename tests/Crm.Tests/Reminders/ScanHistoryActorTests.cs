using Akka.Actor;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

public sealed class ScanHistoryActorTests : Akka.TestKit.Xunit2.TestKit
{
    private static ScanCompleted Completed(int written, DateTimeOffset at) =>
        new(new ScanReport("timer", at, written + 1, 1, new BatchOutcome(written, 1, 0), TimeSpan.FromMilliseconds(12)));

    [Fact]
    public async Task Should_keep_the_last_scans_from_the_event_stream_newest_first_and_no_more_than_its_capacity()
    {
        var history = Sys.ActorOf(ScanHistoryActor.Props());
        var t0 = new DateTimeOffset(2026, 11, 28, 13, 0, 0, TimeSpan.Zero);
        await AwaitAssertAsync(async () => // subscribed in PreStart: published events reach it once it has started
        {
            Sys.EventStream.Publish(Completed(0, t0));
            Assert.NotEmpty((await history.Ask<ScanHistoryActor.Scans>(new ScanHistoryActor.GetScans(1))).Newest);
        });
        for (var i = 0; i < ScanHistoryActor.Capacity + 5; i++) Sys.EventStream.Publish(Completed(i, t0.AddMinutes(i)));
        Sys.EventStream.Publish(new ScanFailed("operator", "the database is down"));

        var all = (await history.Ask<ScanHistoryActor.Scans>(new ScanHistoryActor.GetScans(int.MaxValue))).Newest;

        Assert.Equal(ScanHistoryActor.Capacity, all.Count);
        Assert.False(all[0].Completed);
        Assert.Equal(("operator", "the database is down", (TimeSpan?)null), (all[0].Trigger, all[0].Error, all[0].Duration));
        Assert.Equal(ScanHistoryActor.Capacity + 4, all[1].Written);
        Assert.Equal((ScanHistoryActor.Capacity + 5, 1, 1, TimeSpan.FromMilliseconds(12)), (all[1].Found, all[1].NotDue, all[1].Batches, all[1].Duration!.Value));
        Assert.Equal(6, all[^1].Written); // the oldest ones are gone
        Assert.Equal(3, (await history.Ask<ScanHistoryActor.Scans>(new ScanHistoryActor.GetScans(3))).Newest.Count);
    }
}
