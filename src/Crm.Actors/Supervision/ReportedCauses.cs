using Akka.Actor;

namespace Crm.Actors.Supervision;

/// <summary>
/// The causes of failure already reported at WARNING or above, for the whole host: a cause no restart cures
/// (credentials, a setting, a database without the CRM's tables) is met again at every retry of the program and of
/// its journal, and is worth one line, naming its setting; the retries log it at DEBUG (SPEC §2, §3). Forgotten once
/// the database works again (a program RUNNING, a journal replayed), so that a later failure is news again.
/// </summary>
public sealed class ReportedCauses : IExtension
{
    private readonly HashSet<string> _reported = [];
    private readonly Lock _gate = new();

    public static ReportedCauses Get(ActorSystem system) => system.WithExtension<ReportedCauses, ReportedCausesProvider>();

    /// <summary>True the first time <paramref name="cause"/> is met since the last <see cref="Forget"/>: report it then.</summary>
    public bool FirstTime(string cause)
    {
        lock (_gate) return _reported.Add(cause);
    }

    public void Forget()
    {
        lock (_gate) _reported.Clear();
    }

    /// <summary>The cause at the root of <paramref name="error"/>, in the words of <paramref name="describe"/>.</summary>
    public static string RootOf(Exception error, Func<Exception, string>? describe)
    {
        var root = error;
        while (root.InnerException is { } inner) root = inner;
        return describe?.Invoke(root) ?? root.Message;
    }
}

public sealed class ReportedCausesProvider : ExtensionIdProvider<ReportedCauses>
{
    public override ReportedCauses CreateExtension(ExtendedActorSystem system) => new();
}
