namespace Crm.Actors.Storage;

/// <summary>
/// What the service last learnt of its database from its own work (the scans' queries, the writes, the start
/// check, the LISTEN connection), so that <c>/health/ready</c> answers from it instead of asking the database at
/// each probe (SPEC §5). When that news is older than <see cref="FreshFor"/>, one check, shared by the probes that
/// arrive meanwhile, asks the database: at most once per <see cref="FreshFor"/>, however often it is probed.
/// </summary>
public sealed class DatabaseContact(TimeProvider? clock = null)
{
    /// <summary>How long news of the database stands for its state.</summary>
    public static readonly TimeSpan FreshFor = TimeSpan.FromMinutes(1);

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private DatabaseNews _news = DatabaseNews.None;
    private Task? _check;

    public DatabaseNews News { get { lock (_gate) return _news; } }

    /// <summary>The database answered a statement (even to refuse a row's data: it is there).</summary>
    public void Answered() { lock (_gate) _news = _news with { AnsweredAt = _clock.GetUtcNow() }; }

    /// <summary>A statement failed: the database away, refusing, or not ready; <paramref name="reason"/> says how.</summary>
    public void Failed(string reason) { lock (_gate) _news = _news with { FailedAt = _clock.GetUtcNow(), Failure = reason }; }

    /// <summary>The LISTEN connection is open: while it stays open the database is there (a lost one ends at once,
    /// or by its TCP keepalives when the network drops it silently).</summary>
    public void ListenOpened() { lock (_gate) _news = _news with { AnsweredAt = _clock.GetUtcNow(), Listening = true }; }

    /// <summary>The LISTEN connection ended: <paramref name="failure"/> when it was lost, null when it was closed on purpose.</summary>
    public void ListenClosed(string? failure)
    {
        lock (_gate)
            _news = failure is null ? _news with { Listening = false } : _news with { Listening = false, FailedAt = _clock.GetUtcNow(), Failure = failure };
    }

    /// <summary>
    /// What the news says now; when it says nothing any more (<see cref="Readiness.Unknown"/>), runs
    /// <paramref name="check"/> once, shared with every caller until it ends, records its outcome, and answers from it.
    /// </summary>
    public async Task<Readiness> ReadinessAsync(Func<Task> check)
    {
        var readiness = News.Decide(_clock.GetUtcNow());
        if (readiness is not Readiness.Unknown) return readiness;
        Task running;
        lock (_gate) running = _check ??= CheckAsync(check);
        await running;
        return News.Decide(_clock.GetUtcNow()) is var after and not Readiness.Unknown ? after : new Readiness.NotReady("the database check gave no answer");
    }

    private async Task CheckAsync(Func<Task> check)
    {
        await Task.Yield(); // _check is set before this can end and clear it
        try
        {
            await check();
            Answered();
        }
        catch (Exception e)
        {
            Failed(e.Message);
        }
        finally
        {
            lock (_gate) _check = null;
        }
    }
}

/// <param name="AnsweredAt">The last time a statement succeeded or the LISTEN connection opened.</param>
/// <param name="FailedAt">The last time a statement failed, or the LISTEN connection was lost.</param>
/// <param name="Failure">Why, then.</param>
/// <param name="Listening">The LISTEN connection is open now.</param>
public sealed record DatabaseNews(DateTimeOffset? AnsweredAt, DateTimeOffset? FailedAt, string? Failure, bool Listening)
{
    public static readonly DatabaseNews None = new(null, null, null, false);

    /// <summary>The newest news decides: a failure within <see cref="DatabaseContact.FreshFor"/>, not ready; an
    /// answer within it, or the LISTEN connection open since, ready; older news, or none, is worth one check.</summary>
    public Readiness Decide(DateTimeOffset now)
    {
        var failedLast = FailedAt is { } failed && (AnsweredAt is not { } answered || failed >= answered);
        if (failedLast)
            return now - FailedAt!.Value < DatabaseContact.FreshFor ? new Readiness.NotReady(Failure ?? "the database failed") : Readiness.Unknown.Instance;
        if (Listening) return new Readiness.Ready("its LISTEN connection is open");
        if (AnsweredAt is { } at && now - at < DatabaseContact.FreshFor)
            return new Readiness.Ready($"it answered {Math.Max(0, (now - at).TotalSeconds):0} s ago");
        return Readiness.Unknown.Instance;
    }
}

public abstract record Readiness
{
    public sealed record Ready(string Why) : Readiness;

    public sealed record NotReady(string Why) : Readiness;

    /// <summary>No news fresh enough: ask the database.</summary>
    public sealed record Unknown : Readiness
    {
        public static readonly Unknown Instance = new();
        private Unknown() { }
    }
}
