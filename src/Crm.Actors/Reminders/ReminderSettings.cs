using Crm.Actors.Configuration;
using Crm.Actors.Domain;
using Crm.Actors.Supervision;

namespace Crm.Actors.Reminders;

/// <summary>What the reminder pipeline needs from <c>crm.reminders</c>, already validated.</summary>
/// <param name="Writers">Writers working in parallel, each on its own batch and connection.</param>
/// <param name="TransientRetries">Restarts of the scan or the writer on transient database errors before the program fails.</param>
/// <param name="MinBackoff">First delay of such a restart; it doubles up to <paramref name="MaxBackoff"/>.</param>
/// <param name="PushChannel">PostgreSQL channel on which each committed notification is announced (SPEC §9); empty: none.</param>
/// <param name="ListenInterval">The safety-net scan while the database announces every change (LISTEN); <paramref name="Interval"/> otherwise.</param>
/// <param name="WakeJitter">A planned wake-up comes this much later at most, at random, so that instances do not all scan at once.</param>
/// <param name="HeldRecheck">After a scan that found due rows another transaction held, the next scan comes within
/// this, and again while they stay held: nobody announces their release (a dead node's rollback least of all).</param>
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
    TimeSpan WakeJitter = default,
    TimeSpan HeldRecheck = default)
{
    /// <summary>The shortest <c>held-recheck</c>: a row held for long must not keep the scan busy.</summary>
    public static readonly TimeSpan MinHeldRecheck = TimeSpan.FromMilliseconds(50);

    /// <summary>hocon/crm.conf's defaults (the host reads that file; tests start from these).</summary>
    public static ReminderSettings Default { get; } = new(
        TimeSpan.FromMinutes(5), 1000, TimeSpan.FromMinutes(2), NotificationTemplate.Default, 4, 5, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30),
        "crm_notifications", TimeSpan.FromMinutes(30), TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(500));

    /// <summary>
    /// <c>crm.reminders</c>, validated: a bad value throws <see cref="ConfigurationException"/> naming its key. The
    /// restarts of scan and writer back off as the program's own supervision does (<paramref name="supervision"/>).
    /// </summary>
    public static ReminderSettings Read(ConfigReader read, ProgramSettings supervision)
    {
        var zoneId = read.String("crm.reminders.time-zone");
        TimeZoneInfo zone;
        try { zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId); }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ConfigurationException("crm.reminders.time-zone", zoneId, "expected an IANA time zone such as Europe/Paris");
        }

        var template = new NotificationTemplate(
            zone,
            read.Identifier("crm.reminders.notification-type"),
            read.OneOf("crm.reminders.priority", ["LOW", "NORMAL", "HIGH", "URGENT"]),
            read.Template("crm.reminders.title-template"),
            read.Template("crm.reminders.message-template"),
            read.Template("crm.reminders.link-template"));

        return new ReminderSettings(
            read.Duration("crm.reminders.interval"),
            read.Int("crm.reminders.batch-size", min: 1, max: 50_000),
            read.Duration("crm.reminders.batch-timeout"),
            template,
            read.Int("crm.reminders.writers", min: 1, max: 16),
            read.Int("crm.reminders.transient-retries", min: 0, max: 1000),
            supervision.MinBackoff,
            supervision.MaxBackoff,
            read.Channel("crm.reminders.push-channel"),
            read.Duration("crm.reminders.listen-interval"),
            read.Duration("crm.reminders.wake-jitter", allowZero: true),
            ReadHeldRecheck(read));
    }

    /// <summary>The same from a whole configuration; with <paramref name="demo"/>, scans every <c>crm.demo.interval</c>.</summary>
    public static ReminderSettings Read(Akka.Configuration.Config config, ProgramSettings supervision, bool demo = false)
    {
        var read = new ConfigReader(config);
        var settings = Read(read, supervision);
        return demo ? settings with { Interval = read.Duration("crm.demo.interval") } : settings;
    }

    /// <summary><c>crm.reminders.push-channel</c> alone: the store announces on it from its creation, before the program is defined.</summary>
    public static string PushChannelOf(Akka.Configuration.Config config) => new ConfigReader(config).Channel("crm.reminders.push-channel");

    private static TimeSpan ReadHeldRecheck(ConfigReader read)
    {
        const string key = "crm.reminders.held-recheck";
        var recheck = read.Duration(key);
        if (recheck < MinHeldRecheck)
            throw new ConfigurationException(key, read.Text(key),
                $"expected {MinHeldRecheck.TotalMilliseconds:0}ms or more (each recheck is a scan, repeated while rows stay held)");
        return recheck;
    }

    /// <summary>The safety-net interval: longer while the database tells the service of every change.</summary>
    public TimeSpan SafetyInterval(bool listening) => listening && ListenInterval is { } longer && longer > Interval ? longer : Interval;
}
