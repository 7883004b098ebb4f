using System.Text.Json;
using Crm.Actors.Domain;
using Crm.Actors.Reminders;

namespace Crm.Tests.Domain;

public class NotificationComposerTests
{
    private static readonly NotificationTemplate Template = NotificationTemplate.Default;

    [Fact]
    public void Should_write_the_spec_row_for_a_winter_date_in_Paris_time()
    {
        var row = NotificationComposer.Compose(
            new DueInteraction(42, "Appeler ACME", 7, new DateTimeOffset(2026, 1, 15, 9, 30, 0, TimeSpan.Zero)), Template);

        Assert.Equal(7, row.UserId);
        Assert.Equal("TASK_DUE", row.Type);
        Assert.Equal("HIGH", row.Priority);
        Assert.Equal("Rappel: Appeler ACME", row.Title);
        Assert.Equal("Action prévue le 15/01/2026 à 10:30", row.Message);
        Assert.Equal("/dashboard/inbox?interaction_id=42", row.Link);
        Assert.Equal("interaction", row.ResourceType);
        Assert.Equal(42, row.ResourceId);
        Assert.Equal("42@2026-01-15T09:30:00.000000Z", row.OccurrenceKey);
        using var metadata = JsonDocument.Parse(row.MetadataJson);
        Assert.Equal("2026-01-15T09:30:00.000000Z", metadata.RootElement.GetProperty("next_action_at").GetString());
        Assert.Equal(42, metadata.RootElement.GetProperty("interaction_id").GetInt32());
        Assert.Equal(row.OccurrenceKey, metadata.RootElement.GetProperty("reminder_occurrence").GetString());
    }

    [Fact]
    public void Should_use_summer_time_for_a_summer_date()
    {
        var row = NotificationComposer.Compose(
            new DueInteraction(1, "x", 1, new DateTimeOffset(2026, 7, 15, 9, 30, 0, TimeSpan.Zero)), Template);
        Assert.Equal("Action prévue le 15/07/2026 à 11:30", row.Message);
    }

    [Fact]
    public void Should_shift_by_one_hour_for_a_date_in_the_other_half_of_the_year_from_today()
    {
        var today = new DateTimeOffset(DateTime.UtcNow.Date.AddHours(8), TimeSpan.Zero);
        // Summer time in Paris runs from late March to late October: take mid-January or mid-July, whichever
        // is on the other side of today.
        var summerNow = Template.TimeZone.IsDaylightSavingTime(today);
        var otherHalf = new DateTimeOffset(today.Year + (summerNow ? 1 : 0), summerNow ? 1 : 7, 15, 8, 0, 0, TimeSpan.Zero);

        var now = NotificationComposer.Compose(new DueInteraction(1, "x", 1, today), Template).Message;
        var later = NotificationComposer.Compose(new DueInteraction(1, "x", 1, otherHalf), Template).Message;

        // The same UTC hour shows as 10:00 in summer time and 09:00 in winter time.
        Assert.EndsWith($"le {today:dd/MM/yyyy} à {(summerNow ? "10:00" : "09:00")}", now);
        Assert.EndsWith($"le {otherHalf:dd/MM/yyyy} à {(summerNow ? "09:00" : "10:00")}", later);
    }

    [Fact]
    public void Should_keep_a_200_character_title_whole()
    {
        var title = new string('é', 199) + "Z";
        var row = NotificationComposer.Compose(new DueInteraction(1, title, 1, DateTimeOffset.UnixEpoch), Template);
        Assert.Equal("Rappel: " + title, row.Title);
        Assert.Equal(208, row.Title.Length);
    }

    [Fact]
    public void Should_cut_a_title_longer_than_255_characters_to_255()
    {
        var template = Template with { Title = "Rappel urgent, à traiter avant midi, concernant le dossier suivant: {title} ({id})" };
        var row = NotificationComposer.Compose(new DueInteraction(123, new string('a', 200), 1, DateTimeOffset.UnixEpoch), template);
        Assert.Equal(255, row.Title.Length);
        Assert.StartsWith("Rappel urgent", row.Title);
    }

    [Fact]
    public void Should_count_an_emoji_as_one_character_as_PostgreSQL_does()
    {
        var text = new string('a', 254) + "😀";
        Assert.Equal(text, NotificationComposer.Cut(text, 255));
    }

    [Fact]
    public void Should_keep_a_title_of_200_emoji_whole()
    {
        var title = string.Concat(Enumerable.Repeat("😀", 200));
        var row = NotificationComposer.Compose(new DueInteraction(1, title, 1, DateTimeOffset.UnixEpoch), Template);
        Assert.Equal("Rappel: " + title, row.Title);
    }

    [Fact]
    public void Should_cut_300_emoji_to_255_characters_without_splitting_one()
    {
        var cut = NotificationComposer.Cut(string.Concat(Enumerable.Repeat("😀", 300)), 255);
        Assert.Equal(string.Concat(Enumerable.Repeat("😀", 255)), cut);
    }

    [Fact]
    public void Should_not_split_a_letter_from_its_combining_accent_when_cutting()
    {
        var text = new string('a', 254) + "e\u0301"; // 256 code points; the last two make one letter
        Assert.Equal(new string('a', 254), NotificationComposer.Cut(text, 255));
    }

    [Fact]
    public void Should_write_a_title_holding_placeholders_verbatim()
    {
        var row = NotificationComposer.Compose(
            new DueInteraction(42, "Relancer {id} le {date} à {time} ({title}) {unknown}", 7, DateTimeOffset.UnixEpoch), Template);
        Assert.Equal("Rappel: Relancer {id} le {date} à {time} ({title}) {unknown}", row.Title);
    }

    [Fact]
    public void Should_fill_configured_templates_and_time_zone()
    {
        var template = Template with
        {
            TimeZone = TimeZoneInfo.FindSystemTimeZoneById("America/New_York"),
            Title = "Reminder: {title}",
            Message = "Due {date} {time}",
            Link = "/crm/{id}",
            NotificationType = "TASK_DUE",
            Priority = "URGENT",
        };
        var row = NotificationComposer.Compose(new DueInteraction(5, "Call", 2, new DateTimeOffset(2026, 1, 15, 14, 5, 0, TimeSpan.Zero)), template);
        Assert.Equal(("Reminder: Call", "Due 15/01/2026 09:05", "/crm/5", "TASK_DUE", "URGENT"),
            (row.Title, row.Message, row.Link, row.Type, row.Priority));
    }
}

public class PlaceholderListTests
{
    [Fact]
    public void Should_fill_exactly_the_placeholders_the_configuration_accepts()
    {
        var values = NotificationComposer.Placeholders.ToDictionary(p => p, p => $"<{p}>");
        foreach (var name in NotificationComposer.Placeholders)
            Assert.Equal($"<{name}>", NotificationComposer.FillTemplate($"{{{name}}}", values));
        Assert.Equal("{other}", NotificationComposer.FillTemplate("{other}", values));
    }
}
