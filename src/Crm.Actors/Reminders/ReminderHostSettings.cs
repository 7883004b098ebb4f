using System.Runtime.CompilerServices;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Actors.Reminders;

/// <summary>
/// reminder_worker's settings within the host's: read from its configuration, validated as at start, once per
/// settings instance (the health checks and verbs ask for them at every call; the configuration changes only by
/// <c>crmctl update</c>, which makes new settings).
/// </summary>
public static class ReminderHostSettings
{
    private static readonly ConditionalWeakTable<CrmSettings, ReminderSettings> Read = [];

    extension(CrmSettings settings)
    {
        /// <summary><c>crm.reminders</c> with reminder_worker's supervision keys (throws ConfigurationException naming a bad key).</summary>
        public ReminderSettings Reminders =>
            Read.GetValue(settings, s => ReminderSettings.Read(s.Hocon, s.SupervisionOf(ReminderWorkerActor.ProgramName)));

        /// <summary><c>crm.reminders.once-timeout</c>: how long <c>--once</c> waits for its pass.</summary>
        public TimeSpan OnceTimeout => new ConfigReader(settings.Hocon).Duration("crm.reminders.once-timeout");
    }
}
