using Crm.Actors.Domain;
using Crm.Actors.Reminders;

namespace Crm.Tests.Domain;

/// <summary>Every due and not-due case of SPEC §1; the storage tests run the same cases through the SQL.</summary>
public static class DueCases
{
    public sealed record DueCase(string Name, string Status, TimeSpan? NextActionOffset, bool Notified, bool Assigned, bool Due);

    public static readonly IReadOnlyList<DueCase> All =
    [
        new("todo, past date", "todo", TimeSpan.FromHours(-1), false, true, true),
        new("in_progress, past date", "in_progress", TimeSpan.FromMinutes(-1), false, true, true),
        new("done", "done", TimeSpan.FromHours(-1), false, true, false),
        new("future date", "todo", TimeSpan.FromHours(1), false, true, false),
        new("already notified", "todo", TimeSpan.FromHours(-1), true, true, false),
        new("no assignee", "in_progress", TimeSpan.FromHours(-1), false, false, false),
        new("no date", "todo", null, false, true, false),
    ];

    public static TheoryData<string> Names() => new(All.Select(c => c.Name));

    public static DueCase Named(string name) => All.Single(c => c.Name == name);
}

public class DueRuleTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 29, 1, 30, 0, TimeSpan.Zero);

    [Theory]
    [MemberData(nameof(DueCases.Names), MemberType = typeof(DueCases))]
    public void Should_decide_each_case_as_the_spec_says(string name)
    {
        var c = DueCases.Named(name);
        var row = new InteractionSnapshot(c.Status, Now + c.NextActionOffset, c.Notified ? Now : null, c.Assigned ? 7 : null);
        Assert.Equal(c.Due, DueRule.IsDue(row, Now));
    }

    [Fact]
    public void Should_count_a_next_action_at_exactly_now_as_due()
    {
        Assert.True(DueRule.IsDue(new InteractionSnapshot("todo", Now, null, 1), Now));
    }

    [Fact]
    public void Should_compare_instants_not_wall_clocks_across_offsets()
    {
        // 10:00 in Paris (UTC+1) is 09:00 UTC: due at 09:30 UTC, whatever offset each side carries.
        var paris = new DateTimeOffset(2026, 1, 10, 10, 0, 0, TimeSpan.FromHours(1));
        var now = new DateTimeOffset(2026, 1, 10, 9, 30, 0, TimeSpan.Zero);
        Assert.True(DueRule.IsDue(new InteractionSnapshot("todo", paris, null, 1), now));
        Assert.False(DueRule.IsDue(new InteractionSnapshot("todo", paris, null, 1), now.AddHours(-1)));
    }
}
