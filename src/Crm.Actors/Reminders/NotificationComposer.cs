using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

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
        var metadata = JsonSerializer.Serialize(new Metadata(
            row.Id, ReminderOccurrence.FormatInstant(row.NextActionAt), occurrence.Key, "crm-actors"), MetadataJson.Default.Metadata);

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

    /// <summary>The notification's metadata; <c>reminder_occurrence</c> is what the unique index holds.</summary>
    internal sealed record Metadata(
        [property: JsonPropertyName("interaction_id")] int InteractionId,
        [property: JsonPropertyName("next_action_at")] string NextActionAt,
        [property: JsonPropertyName("reminder_occurrence")] string ReminderOccurrence,
        [property: JsonPropertyName("source")] string Source);

    /// <summary>Cuts to a column width without splitting a surrogate pair.</summary>
    public static string Cut(string text, int max)
    {
        if (text.Length <= max) return text;
        var end = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return text[..end];
    }
}

/// <summary>Compile-time JSON for the metadata: no reflection per row on a backlog of a million.</summary>
[JsonSerializable(typeof(NotificationComposer.Metadata))]
internal sealed partial class MetadataJson : JsonSerializerContext;
