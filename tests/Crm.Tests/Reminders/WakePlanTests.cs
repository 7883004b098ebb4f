using Crm.Actors.Reminders;

namespace Crm.Tests.Reminders;

public class WakePlanTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromMinutes(5);

    [Fact]
    public void Should_wake_when_the_next_reminder_is_due_plus_the_jitter() =>
        Assert.Equal(TimeSpan.FromSeconds(90.05), WakePlan.Delay(TimeSpan.FromSeconds(90), Tick, TimeSpan.FromMilliseconds(50)));

    [Fact]
    public void Should_leave_it_to_the_tick_when_the_tick_comes_first() => Assert.Null(WakePlan.Delay(TimeSpan.FromMinutes(6), Tick, TimeSpan.Zero));

    [Fact]
    public void Should_not_plan_when_nothing_waits() => Assert.Null(WakePlan.Delay(null, Tick, TimeSpan.Zero));

    [Fact]
    public void Should_never_plan_sooner_than_the_minimum_delay() =>
        Assert.Equal(WakePlan.MinDelay, WakePlan.Delay(TimeSpan.FromMilliseconds(-300), Tick, TimeSpan.Zero));

    private static readonly TimeSpan Recheck = TimeSpan.FromMilliseconds(500);

    [Fact]
    public void Should_look_again_within_held_recheck_after_a_scan_that_found_held_rows_and_nothing_else_coming_due() =>
        Assert.Equal(new WakePlan.WakeUp(Recheck, Recheck: true), WakePlan.AfterScan(held: 3, dueIn: null, Tick, Recheck, TimeSpan.Zero));

    [Fact]
    public void Should_look_again_at_held_rows_before_a_reminder_due_later_or_after_the_tick()
    {
        Assert.Equal(new WakePlan.WakeUp(Recheck, Recheck: true),
            WakePlan.AfterScan(held: 1, TimeSpan.FromSeconds(90), Tick, Recheck, TimeSpan.FromMilliseconds(50)));
        Assert.Equal(new WakePlan.WakeUp(Recheck, Recheck: true), WakePlan.AfterScan(held: 1, TimeSpan.FromMinutes(7), Tick, Recheck, TimeSpan.Zero));
    }

    [Fact]
    public void Should_keep_the_wake_up_of_a_reminder_due_before_the_recheck() =>
        Assert.Equal(new WakePlan.WakeUp(TimeSpan.FromMilliseconds(200), Recheck: false),
            WakePlan.AfterScan(held: 1, TimeSpan.FromMilliseconds(200), Tick, Recheck, TimeSpan.Zero));

    [Fact]
    public void Should_plan_as_for_any_scan_once_none_is_held()
    {
        Assert.Equal(new WakePlan.WakeUp(TimeSpan.FromSeconds(90.05), Recheck: false),
            WakePlan.AfterScan(held: 0, TimeSpan.FromSeconds(90), Tick, Recheck, TimeSpan.FromMilliseconds(50)));
        Assert.Null(WakePlan.AfterScan(held: 0, dueIn: null, Tick, Recheck, TimeSpan.Zero));
        Assert.Null(WakePlan.AfterScan(held: 0, TimeSpan.FromMinutes(7), Tick, Recheck, TimeSpan.Zero));
    }

    [Fact]
    public void Should_never_recheck_sooner_than_the_minimum_delay() =>
        Assert.Equal(WakePlan.MinDelay, WakePlan.AfterScan(held: 1, dueIn: null, Tick, TimeSpan.Zero, TimeSpan.Zero)!.Value.Delay);

    [Fact]
    public void Should_name_a_recheck_scan_apart_from_a_planned_one() =>
        Assert.Equal(("recheck", "planned"), (new WakePlan.WakeUp(Recheck, true).Trigger, new WakePlan.WakeUp(Recheck, false).Trigger));

    [Fact]
    public void Should_replace_a_plan_only_with_an_earlier_one()
    {
        var at = DateTimeOffset.UnixEpoch.AddHours(1);
        Assert.True(WakePlan.Replaces(at, null));
        Assert.True(WakePlan.Replaces(at, at.AddSeconds(1)));
        Assert.False(WakePlan.Replaces(at, at.AddSeconds(-1)));
    }
}

public class SafetyIntervalTests
{
    private static readonly ReminderSettings Settings = ReminderSettings.Default with
    {
        Interval = TimeSpan.FromMinutes(5), ListenInterval = TimeSpan.FromMinutes(30),
    };

    [Fact]
    public void Should_tick_every_interval_when_changes_are_not_announced() =>
        Assert.Equal(TimeSpan.FromMinutes(5), Settings.SafetyInterval(listening: false));

    [Fact]
    public void Should_tick_every_listen_interval_while_changes_are_announced() =>
        Assert.Equal(TimeSpan.FromMinutes(30), Settings.SafetyInterval(listening: true));

    [Fact]
    public void Should_keep_interval_when_listen_interval_is_shorter() =>
        Assert.Equal(TimeSpan.FromMinutes(5), (Settings with { ListenInterval = TimeSpan.FromMinutes(1) }).SafetyInterval(listening: true));
}
