using System.Globalization;

namespace Crm.Actors.Domain;

/// <summary>
/// One reminder occurrence: the pair (interaction, next_action_at). Moving the date makes a new occurrence,
/// so the key is what the database's unique index on notifications holds to forbid a second notification.
/// </summary>
public sealed record ReminderOccurrence(int InteractionId, DateTimeOffset NextActionAt)
{
    /// <summary>Microseconds, UTC: PostgreSQL's timestamptz precision, so the key reads back identical.</summary>
    public string Key => KeyOf(InteractionId, FormatInstant(NextActionAt));

    /// <param name="instant">The occurrence's next_action_at as <see cref="FormatInstant"/> writes it.</param>
    public static string KeyOf(int interactionId, string instant) =>
        string.Concat(interactionId.ToString(CultureInfo.InvariantCulture), "@", instant);

    public static string FormatInstant(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
}

/// <summary>A due interaction as the scan read it: what its notification is composed from.</summary>
public sealed record DueInteraction(int Id, string Title, int AssigneeId, DateTimeOffset NextActionAt)
{
    public ReminderOccurrence Occurrence => new(Id, NextActionAt);
}
