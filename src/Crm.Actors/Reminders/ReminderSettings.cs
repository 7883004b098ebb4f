using Crm.Actors.Domain;

namespace Crm.Actors.Reminders;

/// <summary>What the reminder pipeline needs from <c>crm.reminders</c>, already validated.</summary>
/// <param name="Writers">Writers working in parallel, each on its own batch and connection.</param>
/// <param name="TransientRetries">Restarts of the scan or the writer on transient database errors before the program fails.</param>
/// <param name="MinBackoff">First delay of such a restart; it doubles up to <paramref name="MaxBackoff"/>.</param>
/// <param name="PushChannel">PostgreSQL channel on which each committed notification is announced (SPEC §9); empty: none.</param>
/// <param name="ListenInterval">The safety-net scan while the database announces every change (LISTEN); <paramref name="Interval"/> otherwise.</param>
/// <param name="WakeJitter">A planned wake-up comes this much later at most, at random, so that instances do not all scan at once.</param>
public sealed record ReminderSettings(
    TimeSpan Interval,
    int BatchSize,
    TimeSpan BatchTimeout,
    NotificationTemplate Template,
    int Writers,
    int TransientRetries,
    TimeSpan MinBackoff,
    TimeSpan MaxBackoff,
    string PushChannel = "",
    TimeSpan? ListenInterval = null,
    TimeSpan WakeJitter = default)
{
    public static ReminderSettings Default { get; } = new(
        TimeSpan.FromMinutes(5), 1000, TimeSpan.FromMinutes(2), NotificationTemplate.Default, 2, 5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30),
        "crm_notifications", TimeSpan.FromMinutes(30), TimeSpan.FromMilliseconds(100));

    /// <summary>The safety-net interval: longer while the database tells the service of every change.</summary>
    public TimeSpan SafetyInterval(bool listening) => listening && ListenInterval is { } longer && longer > Interval ? longer : Interval;
}
