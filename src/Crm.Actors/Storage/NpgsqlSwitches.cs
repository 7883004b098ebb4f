using System.Runtime.CompilerServices;

namespace Crm.Actors.Storage;

internal static class NpgsqlSwitches
{
    /// <summary>
    /// Npgsql maps DateTime.MinValue to -infinity by default: a reminder at 0001-01-01 00:00:00+00 would be sent
    /// back as -infinity and never match its own row. Exact values both ways; rows at -infinity are parked
    /// instead (<see cref="IReminderStore.ParkUnreadableAsync"/>). Npgsql reads the switch once, so it is set when
    /// this assembly loads, before any connection.
    /// </summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "Npgsql reads the switch once: it must be set before any connection, whoever opens it.")]
    internal static void Set() => AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);
}
