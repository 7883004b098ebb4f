using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Actors.Reminders;

/// <summary>reminder_worker's settings within the host's: read from its configuration, validated as at start.</summary>
public static class ReminderHostSettings
{
    extension(CrmSettings settings)
    {
        /// <summary><c>crm.reminders</c> with reminder_worker's supervision keys (throws ConfigurationException naming a bad key).</summary>
        public ReminderSettings Reminders => ReminderSettings.Read(settings.Hocon, settings.SupervisionOf(ReminderWorkerActor.ProgramName));

        /// <summary><c>crm.reminders.once-timeout</c>: how long <c>--once</c> waits for its pass.</summary>
        public TimeSpan OnceTimeout => new ConfigReader(settings.Hocon).Duration("crm.reminders.once-timeout");
    }
}
