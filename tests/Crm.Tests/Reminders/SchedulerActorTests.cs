using Akka.Actor;
using Akka.TestKit;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using static Crm.Actors.Reminders.ReminderScanMessages;
using static Crm.Actors.Reminders.SchedulerMessages;

namespace Crm.Tests.Reminders;

/// <summary>The scheduler in virtual time: ticks, planned wake-ups, announced changes (SPEC §9).</summary>
public class SchedulerActorTests() : Akka.TestKit.Xunit2.TestKit("""
    akka.scheduler.implementation = "Akka.TestKit.TestScheduler, Akka.TestKit"
    akka.loglevel = DEBUG
    """)
{
    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    private static readonly ReminderSettings Settings = ReminderSettings.Default with
    {
        Interval = TimeSpan.FromMinutes(5), ListenInterval = TimeSpan.FromMinutes(30), WakeJitter = TimeSpan.Zero,
    };

    /// <summary>The scheduler's clock is the test scheduler's: both move only when the test advances them.</summary>
    private sealed class VirtualClock(TestScheduler scheduler) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => scheduler.Now.ToUniversalTime();
    }

    /// <summary>A store whose outlook the test sets; the scheduler asks nothing else of it.</summary>
    private sealed class OutlookStore : IReminderStore
    {
        public ReminderOutlook Outlook { get; set; } = new(null, 0, 0);
        public Task<ReminderOutlook> OutlookAsync(CancellationToken ct = default) => Task.FromResult(Outlook);
        public string Description => "outlook stub";
        public DatabaseContact Contact { get; } = new();
        public Task MigrateAsync(CancellationToken ct = default) => throw new NotSupportedException();
        public Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default) => throw new NotSupportedException();
        public Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default) => throw new NotSupportedException();
        public Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default) => throw new NotSupportedException();
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private TimeProvider Virtual => new VirtualClock(Clock);

    private IActorRef _scheduler = ActorRefs.Nobody;

    private (TestProbe Scan, IActorRef Scheduler, OutlookStore Store) Start()
    {
        var scan = CreateTestProbe();
        var store = new OutlookStore();
        _scheduler = Sys.ActorOf(SchedulerActor.Props(scan.Ref, store, Settings, Virtual));
        return (scan, _scheduler, store);
    }

    /// <summary>Answers the scan the scheduler asked for, and waits until it has planned from the outlook.</summary>
    private async Task CompleteScanAsync(TestProbe scan, OutlookStore store, ReminderOutlook outlook, ScanReport? report = null)
    {
        store.Outlook = outlook;
        await EventFilter.Debug(start: "Outlook:").ExpectOneAsync(async () =>
        {
            _scheduler.Tell(new ScanCompleted(report ?? ScanReport.Start("test", DateTimeOffset.UnixEpoch)), scan.Ref);
            await Task.Yield();
        });
    }

    [Fact]
    public async Task Should_scan_once_at_start_then_every_interval()
    {
        var (scan, _, store) = Start();

        Assert.Equal("timer", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 0, 0));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));

        Clock.Advance(TimeSpan.FromMinutes(4));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("timer", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }

    [Fact]
    public async Task Should_wake_exactly_when_the_next_reminder_is_due_not_at_the_next_tick()
    {
        var (scan, _, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();

        await CompleteScanAsync(scan, store, new ReminderOutlook(TimeSpan.FromSeconds(90), 0, 0));

        Clock.Advance(TimeSpan.FromSeconds(89));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("planned", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }

    [Fact]
    public async Task Should_leave_a_reminder_due_after_the_tick_to_the_tick()
    {
        var (scan, _, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();

        await CompleteScanAsync(scan, store, new ReminderOutlook(TimeSpan.FromMinutes(7), 0, 0));

        Clock.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal("timer", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }

    [Fact]
    public async Task Should_scan_at_once_for_an_announced_reminder_already_due_and_re_plan_for_an_earlier_one()
    {
        var (scan, scheduler, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();
        await CompleteScanAsync(scan, store, new ReminderOutlook(TimeSpan.FromSeconds(120), 0, 0));

        await EventFilter.Debug(start: "Wake-up planned in 00:00:30").ExpectOneAsync(() =>
        {
            scheduler.Tell(new ReminderChanged(Virtual.GetUtcNow().AddSeconds(30))); // moved earlier than planned
            return Task.CompletedTask;
        });
        Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal("planned", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
        await CompleteScanAsync(scan, store, new ReminderOutlook(TimeSpan.FromSeconds(90), 0, 0));

        scheduler.Tell(new ReminderChanged(Virtual.GetUtcNow().AddSeconds(-1))); // created already due
        Assert.Equal("changed", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }

    [Fact]
    public async Task Should_ask_for_one_more_scan_however_many_changes_arrive_during_one()
    {
        var (scan, scheduler, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();

        for (var i = 0; i < 1000; i++) scheduler.Tell(new ReminderChanged(Virtual.GetUtcNow().AddSeconds(-1)));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 0, 0));

        Assert.Equal("changed", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Should_stretch_the_safety_net_while_listening_and_catch_up_once_after_a_lost_connection()
    {
        var (scan, scheduler, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();
        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 0, 0));

        await EventFilter.Info(start: "Safety-net scan every 1800s").ExpectOneAsync(() => { scheduler.Tell(ListenerUp.Instance); return Task.CompletedTask; });
        Assert.Equal("listening", (await scan.ExpectMsgAsync<RunScan>()).Trigger); // what came before LISTEN was in place
        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 0, 0));
        Clock.Advance(TimeSpan.FromMinutes(29));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100)); // no 5-minute ticks while the database announces changes

        await EventFilter.Info(start: "Safety-net scan every 300s").ExpectOneAsync(() => { scheduler.Tell(ListenerDown.Instance); return Task.CompletedTask; });
        scheduler.Tell(ListenerUp.Instance);
        Assert.Equal("catch-up", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }

    [Fact]
    public async Task Should_scan_again_every_held_recheck_while_rows_stay_held_then_wait_for_the_tick()
    {
        var (scan, _, store) = Start();
        await scan.ExpectMsgAsync<RunScan>();
        var held = ScanReport.Start("test", DateTimeOffset.UnixEpoch).WithBatch(3, new BatchOutcome(0, 0, 0, Held: 3));
        var written = ScanReport.Start("recheck", DateTimeOffset.UnixEpoch).WithBatch(3, new BatchOutcome(3, 0, 0));

        // Held elsewhere, nothing else coming due: the tick is 5 minutes away, the recheck half a second.
        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 3, 0), held);
        Clock.Advance(TimeSpan.FromMilliseconds(499));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("recheck", (await scan.ExpectMsgAsync<RunScan>()).Trigger);

        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 3, 0), held); // still held
        Clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal("recheck", (await scan.ExpectMsgAsync<RunScan>()).Trigger);

        await CompleteScanAsync(scan, store, new ReminderOutlook(null, 0, 0), written); // released and written: no more rechecks
        Clock.Advance(TimeSpan.FromMinutes(4));
        await scan.ExpectNoMsgAsync(TimeSpan.FromMilliseconds(100));
        Clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("timer", (await scan.ExpectMsgAsync<RunScan>()).Trigger);
    }
}
