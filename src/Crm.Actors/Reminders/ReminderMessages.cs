using Akka.Actor;
using Akka.Event;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;

namespace Crm.Actors.Reminders;

public static class SchedulerMessages
{
    /// <summary>The planned wake-up: the earliest upcoming reminder is due now.</summary>
    public sealed class Wake : INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly Wake Instance = new();
        private Wake() { }
    }

    /// <summary>The database announced a new or moved reminder (the trigger, through LISTEN): due at <paramref name="DueAt"/>.</summary>
    public sealed record ReminderChanged(DateTimeOffset DueAt);

    /// <summary>LISTEN is in place and the trigger exists: every change will be announced.</summary>
    public sealed class ListenerUp
    {
        public static readonly ListenerUp Instance = new();
        private ListenerUp() { }
    }

    /// <summary>The LISTEN connection is lost: changes may go unannounced until it is back.</summary>
    public sealed class ListenerDown
    {
        public static readonly ListenerDown Instance = new();
        private ListenerDown() { }
    }

    /// <summary>The periodic timer. Suppressed from dead letters: a tick to a stopping scheduler is not news.</summary>
    public sealed class Tick : INotInfluenceReceiveTimeout, IDeadLetterSuppression
    {
        public static readonly Tick Instance = new();
        private Tick() { }
    }
}

public static class ReminderScanMessages
{
    /// <summary>Process every due reminder now. <paramref name="Trigger"/> says who asked (start, timer, operator, once).</summary>
    public sealed record RunScan(string Trigger) : IProgramRequest
    {
        public object Unavailable(string reason) => new ScanFailed(Trigger, reason);
    }

    // A scan's outcome is no dead-letter news when its requester has stopped meanwhile (a program's graceful stop
    // stops the scheduler, then lets the scan finish its batch in flight): the scan logs its outcome itself.

    /// <summary>Sent to every requester of a scan when its pass has processed the whole due backlog.</summary>
    public sealed record ScanCompleted(ScanReport Report) : IDeadLetterSuppression;

    /// <summary>Sent to every requester when a pass stopped on an error; what was written before it stays written.</summary>
    public sealed record ScanFailed(string Trigger, string Reason) : IDeadLetterSuppression;

    /// <summary>Stop taking new work: finish the batch in flight, then answer <see cref="Drained"/>.</summary>
    public sealed class Drain
    {
        public static readonly Drain Instance = new();
        private Drain() { }
    }

    public sealed class Drained
    {
        public static readonly Drained Instance = new();
        private Drained() { }
    }

    /// <param name="Parked">Due rows that cannot be read, recorded as skipped at the start of the pass.</param>
    internal sealed record PageLoaded(IReadOnlyList<DueInteraction> Page, IReadOnlyList<UnreadableRow> Parked);

    internal sealed record PageFailed(Exception Cause) : INoSerializationVerificationNeeded, IDeadLetterSuppression; // local: the exception as thrown; arriving after a stop, it is no news

    internal sealed record BatchTimedOut(long Sequence) : INotInfluenceReceiveTimeout, IDeadLetterSuppression;
}

public static class NotificationWriterMessages
{
    /// <summary>Write one batch in one transaction. <paramref name="Sequence"/> pairs the reply with its request.</summary>
    public sealed record WriteBatch(long Sequence, IReadOnlyList<DueInteraction> Batch);

    public sealed record BatchWritten(long Sequence, BatchOutcome Outcome);

    public sealed record BatchFailed(long Sequence, string Reason);

    /// <summary>The answer to a batch while the writer waits to restart after a database error.</summary>
    public sealed class WriterRestarting
    {
        public static readonly WriterRestarting Instance = new();
        private WriterRestarting() { }
    }
}

/// <summary>The account of one scan pass.</summary>
public sealed record ScanReport(string Trigger, DateTimeOffset StartedAt, int Found, int Batches, BatchOutcome Outcome, TimeSpan Duration)
{
    public static ScanReport Start(string trigger, DateTimeOffset at) => new(trigger, at, 0, 0, default, TimeSpan.Zero);

    public ScanReport WithParked(int parked) =>
        this with { Found = Found + parked, Outcome = Outcome + new BatchOutcome(0, 0, parked) };

    public ScanReport WithBatch(int found, BatchOutcome outcome) =>
        this with { Found = Found + found, Batches = Batches + 1, Outcome = Outcome + outcome };
}
