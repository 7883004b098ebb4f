using Crm.Actors.Configuration;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;

namespace Crm.Host.Admin;

/// <summary>
/// The configuration in effect and the file it came from: <c>reread</c> compares the file with it, <c>update</c>
/// makes the file's the one in effect. A program has changed when the settings its actors are made from have.
/// </summary>
public sealed class ConfigurationState(CommandLine line, CrmSettings initial, IReadOnlyDictionary<string, string?> environment, IReminderStore store)
{
    private readonly object _gate = new();
    public CrmSettings Current { get; private set; } = initial;

    /// <summary>The programs the host runs, made from <paramref name="settings"/>.</summary>
    public IReadOnlyList<ProgramDefinition> Programs(CrmSettings settings)
    {
        var reminders = line.Demo ? settings.Reminders with { Interval = settings.DemoInterval } : settings.Reminders;
        var supervision = settings.Programs[ReminderWorkerActor.ProgramName];
        // --once is asked for explicitly: it runs even where the service would not autostart the program.
        if (line.Once) supervision = supervision with { AutoStart = true };
        return [ReminderWorkerActor.Program(store, reminders, supervision, periodic: !line.Once)];
    }

    public sealed record Difference(IReadOnlyList<string> Changed, IReadOnlyList<string> Added, IReadOnlyList<string> Removed, CrmSettings OnDisk);

    /// <summary>Reads the configuration file again (throws <see cref="ConfigurationException"/> when it is invalid).</summary>
    public Difference Reread()
    {
        var onDisk = CrmSettings.Load(line.ConfigPath is { } path ? File.ReadAllText(path) : null, environment);
        lock (_gate) return Compare(Current, onDisk);
    }

    public static Difference Compare(CrmSettings current, CrmSettings onDisk)
    {
        var before = current.Programs.Keys.ToHashSet();
        var after = onDisk.Programs.Keys.ToHashSet();
        var remindersChanged = current.Reminders != onDisk.Reminders || current.DemoInterval != onDisk.DemoInterval;
        var changed = before.Intersect(after)
            .Where(name => current.Programs[name] != onDisk.Programs[name] || (name == ReminderWorkerActor.ProgramName && remindersChanged))
            .Order().ToList();
        return new Difference(changed, after.Except(before).Order().ToList(), before.Except(after).Order().ToList(), onDisk);
    }

    public void Apply(CrmSettings settings)
    {
        lock (_gate) Current = settings;
    }
}
