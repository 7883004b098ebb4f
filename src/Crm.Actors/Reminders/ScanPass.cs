using Crm.Actors.Domain;

namespace Crm.Actors.Reminders;

/// <summary>
/// One pass of the scan, pure: the keyset paging, the page read ahead, which writer gets which batch, and when the
/// pass is over. Each writer has at most one batch in flight and the pass reads one page ahead of them, so that a
/// writer that finishes gets its next batch at once; memory holds at most one page per writer plus the one read
/// ahead (or being read). <see cref="ReminderScanActor"/> feeds it what happened and carries out the
/// <see cref="Step"/>s it answers (a page query, a batch to a writer, the end of the pass).
/// </summary>
public sealed class ScanPass(int writers, int batchSize, string trigger, DateTimeOffset startedAt)
{
    /// <summary>What the actor does next.</summary>
    public abstract record Step
    {
        /// <summary>Read the page after <paramref name="Cursor"/> (null: the first, which also parks unreadable rows).</summary>
        public sealed record Load(ReminderOccurrence? Cursor) : Step;

        /// <summary>Hand <paramref name="Page"/> to writer number <paramref name="Writer"/> as batch <paramref name="Sequence"/>.</summary>
        public sealed record Dispatch(long Sequence, int Writer, IReadOnlyList<DueInteraction> Page) : Step;

        /// <summary>Every page was read and every batch answered.</summary>
        public sealed record Completed(ScanReport Report) : Step;

        /// <summary>Nothing is in flight any more after a drain: the pass ends unfinished.</summary>
        public sealed record Drained : Step
        {
            public static readonly Drained Instance = new();
            private Drained() { }
        }
    }

    private ReminderOccurrence? _cursor;
    private bool _loading;
    private bool _started;
    private IReadOnlyList<DueInteraction>? _ready;
    private bool _exhausted;
    private bool _draining;
    private long _sequence;
    private readonly Dictionary<long, (int Size, int Writer)> _inFlight = [];

    public ScanReport Report { get; private set; } = ScanReport.Start(trigger, startedAt);

    /// <summary>Batches not answered yet, by sequence.</summary>
    public IReadOnlyCollection<long> InFlight => _inFlight.Keys;

    public bool IsInFlight(long sequence) => _inFlight.ContainsKey(sequence);

    /// <param name="sequenceBefore">The last sequence handed out before this pass: batch sequences never repeat.</param>
    public IReadOnlyList<Step> Start(long sequenceBefore = 0)
    {
        _sequence = sequenceBefore;
        _started = true;
        return Continue();
    }

    /// <summary>A page came back: <paramref name="parked"/> unreadable rows were set aside first.</summary>
    public IReadOnlyList<Step> PageLoaded(IReadOnlyList<DueInteraction> page, int parked)
    {
        _loading = false;
        Report = Report.WithParked(parked);
        if (page.Count < batchSize) _exhausted = true;
        if (page.Count > 0 && !_draining)
        {
            _cursor = page[^1].Occurrence;
            _ready = page;
        }
        return Continue();
    }

    /// <summary>A writer answered batch <paramref name="sequence"/> (ignored when it is not this pass's).</summary>
    public IReadOnlyList<Step> BatchWritten(long sequence, BatchOutcome outcome)
    {
        if (!_inFlight.Remove(sequence, out var batch)) return [];
        Report = Report.WithBatch(batch.Size, outcome);
        return Continue();
    }

    /// <summary>The program is stopping: what is in flight may finish, nothing more is read or handed out.</summary>
    public IReadOnlyList<Step> Drain()
    {
        _draining = true;
        return Continue();
    }

    /// <summary>The pass failed: nothing of it is waited for any more.</summary>
    public void Abandon()
    {
        _inFlight.Clear();
        _ready = null;
        _loading = false;
    }

    /// <summary>Hands the page read ahead to a free writer, then reads the next one while the writers write.</summary>
    private IReadOnlyList<Step> Continue()
    {
        if (!_started) return [];
        if (!_loading && _inFlight.Count == 0)
        {
            // A page read ahead but not handed out is dropped on a drain: nothing of it was written.
            if (_draining) return [Step.Drained.Instance];
            if (_exhausted && _ready is null) return [new Step.Completed(Report)];
        }
        if (_draining) return [];
        var steps = new List<Step>();
        if (_ready is { } page && _inFlight.Count < writers)
        {
            _ready = null;
            var busy = _inFlight.Values.Select(v => v.Writer).ToHashSet();
            var writer = Enumerable.Range(0, writers).First(i => !busy.Contains(i));
            _inFlight[++_sequence] = (page.Count, writer);
            steps.Add(new Step.Dispatch(_sequence, writer, page));
        }
        if (!_loading && !_exhausted && _ready is null)
        {
            _loading = true;
            steps.Add(new Step.Load(_cursor));
        }
        return steps;
    }

    /// <summary>The last sequence handed out, for the next pass.</summary>
    public long LastSequence => _sequence;
}
