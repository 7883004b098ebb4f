using System.Runtime.CompilerServices;
using Crm.Actors.Storage;

namespace Crm.Tests.Support;

internal static class ModuleSetup
{
    /// <summary>The service's own Npgsql switches, set before any test opens a connection (Crm.Actors may load later).</summary>
    [ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "Npgsql reads the switch once: it must be set before any connection, whoever opens it.")]
    internal static void Set() => NpgsqlSwitches.Set();
}
