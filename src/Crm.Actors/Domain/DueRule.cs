namespace Crm.Actors.Domain;

/// <summary>The columns of <c>crm_interactions</c> that decide whether a reminder is due.</summary>
public sealed record InteractionSnapshot(
    string Status,
    DateTimeOffset? NextActionAt,
    DateTimeOffset? NotifiedAt,
    int? AssigneeId);

/// <summary>
/// SPEC §1: due when <c>status IN ('todo','in_progress') AND next_action_at &lt;= now() AND notified_at IS NULL
/// AND assignee_id IS NOT NULL</c>. The stores express the same rule in SQL (<see cref="SqlPredicate"/>); the
/// integration tests run every case below through both, so the two cannot drift apart.
/// </summary>
public static class DueRule
{
    public static readonly IReadOnlyList<string> OpenStatuses = ["todo", "in_progress"];

    /// <summary>The rule as a SQL predicate over an alias <c>i</c> of crm_interactions; <c>{now}</c> is the dialect's clock.</summary>
    public static string SqlPredicate(string now) => $"{WaitingPredicate("i.")} AND i.next_action_at <= {now}";

    /// <summary>
    /// The rule without its clock: the rows that are or will be due. The partial index the scan reads is built
    /// on it, so the index and the scan cannot disagree on which rows it holds.
    /// </summary>
    public static string IndexPredicate => WaitingPredicate("");

    /// <summary>The rows that are or will be due, over a table alias such as <c>i.</c> (or none).</summary>
    public static string WaitingPredicate(string alias) =>
        $"{alias}notified_at IS NULL AND {alias}assignee_id IS NOT NULL AND {alias}status IN ({string.Join(", ", OpenStatuses.Select(status => $"'{status}'"))})";

    public static bool IsDue(InteractionSnapshot row, DateTimeOffset now) =>
        OpenStatuses.Contains(row.Status)
        && row.NextActionAt is { } at && at <= now
        && row.NotifiedAt is null
        && row.AssigneeId is not null;
}
