namespace Crm.Host.Admin;

/// <summary>The edge's one bound on an Ask to the actors for a read (commands are bounded by their programs' settings).</summary>
public static class AdminAsk
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
}
