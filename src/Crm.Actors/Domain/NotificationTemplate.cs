namespace Crm.Actors.Domain;

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
        "TASK_DUE",
        "HIGH",
        "Rappel: {title}",
        "Action prévue le {date} à {time}",
        "/dashboard/inbox?interaction_id={id}");
}
