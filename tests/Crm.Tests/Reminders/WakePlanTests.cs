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
