namespace Crm.Actors.Reminders;

/// <summary>Pure: when the scheduler wakes for the next reminder (SPEC §9), or to look again at held rows (SPEC §8).</summary>
public static class WakePlan
{
    /// <summary>Never sooner than this: a date a hair in the future must not make the scheduler spin.</summary>
    public static readonly TimeSpan MinDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>A planned wake-up: in <paramref name="Delay"/>; <paramref name="Recheck"/> when it is for held rows.</summary>
    public readonly record struct WakeUp(TimeSpan Delay, bool Recheck)
    {
        public string Trigger => Recheck ? "recheck" : "planned";
    }

    /// <summary>
    /// The delay until the wake-up for a reminder due in <paramref name="dueIn"/>, or null when the safety-net
    /// tick comes first (or nothing waits). <paramref name="jitter"/> is the random part, in [0, wake-jitter].
    /// </summary>
    public static TimeSpan? Delay(TimeSpan? dueIn, TimeSpan safetyInterval, TimeSpan jitter)
    {
        if (dueIn is not { } due || due >= safetyInterval) return null;
        return (due < MinDelay ? MinDelay : due) + jitter;
    }

    /// <summary>
    /// The wake-up after a scan. When the scan found <paramref name="held"/> due rows that another transaction held,
    /// nobody will announce their release (a dead node's rollback least of all): the next scan comes within
    /// <paramref name="heldRecheck"/>, unless the next reminder is due sooner. With none held, the wake-up for the
    /// next reminder (<see cref="Delay"/>), or none. Each recheck is one scan, and plans the next only while rows
    /// stay held.
    /// </summary>
    public static WakeUp? AfterScan(int held, TimeSpan? dueIn, TimeSpan safetyInterval, TimeSpan heldRecheck, TimeSpan jitter)
    {
        var next = Delay(dueIn, safetyInterval, jitter);
        var recheck = heldRecheck < MinDelay ? MinDelay : heldRecheck;
        if (held > 0 && (next is not { } due || due > recheck)) return new WakeUp(recheck, Recheck: true);
        return next is { } delay ? new WakeUp(delay, Recheck: false) : null;
    }

    /// <summary>A new plan replaces the current one only when it is earlier: the earlier reminder must not wait.</summary>
    public static bool Replaces(DateTimeOffset candidate, DateTimeOffset? planned) => planned is not { } current || candidate < current;
}
