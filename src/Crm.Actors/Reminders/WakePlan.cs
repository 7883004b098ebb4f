namespace Crm.Actors.Reminders;

/// <summary>Pure: when the scheduler wakes for the next reminder (SPEC §9).</summary>
public static class WakePlan
{
    /// <summary>Never sooner than this: a date a hair in the future must not make the scheduler spin.</summary>
    public static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The delay until the wake-up for a reminder due in <paramref name="dueIn"/>, or null when the safety-net
    /// tick comes first (or nothing waits). <paramref name="jitter"/> is the random part, in [0, wake-jitter].
    /// </summary>
    public static TimeSpan? Delay(TimeSpan? dueIn, TimeSpan safetyInterval, TimeSpan jitter)
    {
        if (dueIn is not { } due || due >= safetyInterval) return null;
        return (due < MinDelay ? MinDelay : due) + jitter;
    }

    /// <summary>A new plan replaces the current one only when it is earlier: the earlier reminder must not wait.</summary>
    public static bool Replaces(DateTimeOffset candidate, DateTimeOffset? planned) => planned is not { } current || candidate < current;
}
