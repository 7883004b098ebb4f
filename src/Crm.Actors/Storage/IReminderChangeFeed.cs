namespace Crm.Actors.Storage;

/// <summary>
/// A database that announces every new or moved reminder (PostgreSQL: the trigger <c>crm_actors_reminder_changed</c>
/// and LISTEN on <c>crm_actors_reminders</c>, SPEC §9). SQLite has none: it plans wake-ups in-process only.
/// </summary>
public interface IReminderChangeFeed
{
    /// <summary>
    /// Listens on a connection of its own until <paramref name="ct"/> is cancelled, or throws when the connection
    /// is lost. Calls <paramref name="listening"/> once LISTEN is in place, saying whether the trigger exists
    /// (without it nothing will be announced), then <paramref name="changed"/> with the due time of each announced
    /// reminder.
    /// </summary>
    Task ListenAsync(Action<bool> listening, Action<DateTimeOffset> changed, CancellationToken ct);
}
