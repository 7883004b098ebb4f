using System.Runtime.CompilerServices;

namespace Crm.Tests.Support;

internal static class ModuleSetup
{
    /// <summary>As the service runs (Crm.Actors sets it too): the tests may open a connection before loading it.</summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "Npgsql reads the switch once: it must be set before any connection, whoever opens it.")]
    internal static void Set() => AppContext.SetSwitch("Npgsql.DisableDateTimeInfinityConversions", true);
}
