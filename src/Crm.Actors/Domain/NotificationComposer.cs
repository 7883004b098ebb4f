using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Text.Json.Serialization;

namespace Crm.Actors.Domain;

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
public static partial class NotificationComposer
{
    // Column widths of the CRM's notifications table.
    public const int TitleMax = 255;
    public const int MessageMax = 1200;
    public const int LinkMax = 500;

    public static NotificationRow Compose(DueInteraction row, NotificationTemplate template)
    {
        var local = TimeZoneInfo.ConvertTime(row.NextActionAt, template.TimeZone);
        var id = row.Id.ToString(CultureInfo.InvariantCulture);
        // Run once per row on a backlog of a million: a switch, not a dictionary built for each row.
        string Value(string placeholder) => placeholder switch
        {
            "title" => row.Title,
            "id" => id,
            "date" => local.ToString("dd/MM/yyyy", CultureInfo.InvariantCulture),
            _ => local.ToString("HH:mm", CultureInfo.InvariantCulture),
        };
        string Fill(string text) => FillTemplate(text, Value);

        var instant = ReminderOccurrence.FormatInstant(row.NextActionAt);
        var key = ReminderOccurrence.KeyOf(row.Id, instant);
        var metadata = JsonSerializer.Serialize(new Metadata(row.Id, instant, key, "crm-actors"), MetadataJson.Default.Metadata);

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
            key);
    }

    /// <summary>The notification's metadata; <c>reminder_occurrence</c> is what the unique index holds.</summary>
    internal sealed record Metadata(
        [property: JsonPropertyName("interaction_id")] int InteractionId,
        [property: JsonPropertyName("next_action_at")] string NextActionAt,
        [property: JsonPropertyName("reminder_occurrence")] string ReminderOccurrence,
        [property: JsonPropertyName("source")] string Source);

    /// <summary>The placeholders a template may hold.</summary>
    public static readonly IReadOnlyList<string> Placeholders = ["title", "id", "date", "time"];

    /// <summary>Compiled at build time: no regex interpreter per row, and nothing to build at start. Its
    /// alternatives are <see cref="Placeholders"/> (a test holds them equal).</summary>
    [GeneratedRegex(@"\{(title|id|date|time)\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();

    /// <summary>
    /// Fills every placeholder in one pass over the template: a value is never scanned again, so a title from the
    /// CRM that holds "{id}" or "{date}" is written as the user typed it.
    /// </summary>
    public static string FillTemplate(string template, IReadOnlyDictionary<string, string> values) =>
        FillTemplate(template, placeholder => values[placeholder]);

    private static string FillTemplate(string template, Func<string, string> value) =>
        template.Contains('{') ? Placeholder().Replace(template, match => value(match.Groups[1].Value)) : template;

    /// <summary>
    /// Cuts to a column width as PostgreSQL counts it (varchar(n) counts characters, i.e. code points, not
    /// UTF-16 units), keeping whole user-perceived characters: an emoji or an accented letter is never split.
    /// </summary>
    public static string Cut(string text, int max)
    {
        if (text.Length <= max) return text; // at most max code points already
        var kept = 0;
        var points = 0;
        var elements = StringInfo.GetTextElementEnumerator(text);
        while (elements.MoveNext())
        {
            var element = (string)elements.Current;
            var size = element.EnumerateRunes().Count();
            if (points + size > max) break;
            points += size;
            kept += element.Length;
        }
        return text[..kept];
    }
}

/// <summary>Compile-time JSON for the metadata: no reflection per row on a backlog of a million.</summary>
[JsonSerializable(typeof(NotificationComposer.Metadata))]
internal sealed partial class MetadataJson : JsonSerializerContext;
