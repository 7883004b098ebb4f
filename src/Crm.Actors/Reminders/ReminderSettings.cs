namespace Crm.Actors.Reminders;

/// <summary>What the reminder pipeline needs from <c>crm.reminders</c>, already validated.</summary>
public sealed record ReminderSettings(
    TimeSpan Interval,
    int BatchSize,
    TimeSpan BatchTimeout,
    NotificationTemplate Template)
{
    public static ReminderSettings Default { get; } = new(
        TimeSpan.FromMinutes(5), 500, TimeSpan.FromMinutes(2), NotificationTemplate.Default);
}

/// <summary>How a due occurrence becomes a notification row (SPEC §1). Templates use {title}, {id}, {date}, {time}.</summary>
public sealed record NotificationTemplate(
    TimeZoneInfo TimeZone,
    string NotificationType,
    string Priority,
    string Title,
    string Message,
    string Link)
{
    public static NotificationTemplate Default { get; } = new(
        TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"),
        "INTERACTION_REMINDER",
        "HIGH",
        "Rappel: {title}",
        "Action prévue le {date} à {time}",
        "/interactions/{id}");
}
