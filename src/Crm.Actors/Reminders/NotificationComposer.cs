using System.Globalization;
using System.Text.Json;

namespace Crm.Actors.Reminders;

/// <summary>A row for the CRM's <c>notifications</c> table.</summary>
public sealed record NotificationRow(
    int UserId,
    string Type,
    string Priority,
    string Title,
    string Message,
    string Link,
    string ResourceType,
    int ResourceId,
    string MetadataJson,
    string OccurrenceKey);

/// <summary>Pure: turns a due interaction into its notification (SPEC §1). No clock, no I/O.</summary>
public static class NotificationComposer
{
    // Column widths of the CRM's notifications table.
    public const int TitleMax = 255;
    public const int MessageMax = 1200;
    public const int LinkMax = 500;

    public static NotificationRow Compose(DueInteraction row, NotificationTemplate template)
    {
        var local = TimeZoneInfo.ConvertTime(row.NextActionAt, template.TimeZone);
        string Fill(string text) => text
            .Replace("{title}", row.Title, StringComparison.Ordinal)
            .Replace("{id}", row.Id.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{date}", local.ToString("dd/MM/yyyy", CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{time}", local.ToString("HH:mm", CultureInfo.InvariantCulture), StringComparison.Ordinal);

        var occurrence = row.Occurrence;
        var metadata = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["interaction_id"] = row.Id,
            ["next_action_at"] = ReminderOccurrence.FormatInstant(row.NextActionAt),
            ["reminder_occurrence"] = occurrence.Key,
            ["source"] = "crm-actors",
        });

        return new NotificationRow(
            row.AssigneeId,
            template.NotificationType,
            template.Priority,
            Cut(Fill(template.Title), TitleMax),
            Cut(Fill(template.Message), MessageMax),
            Cut(Fill(template.Link), LinkMax),
            "interaction",
            row.Id,
            metadata,
            occurrence.Key);
    }

    /// <summary>Cuts to a column width without splitting a surrogate pair.</summary>
    public static string Cut(string text, int max)
    {
        if (text.Length <= max) return text;
        var end = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return text[..end];
    }
}
