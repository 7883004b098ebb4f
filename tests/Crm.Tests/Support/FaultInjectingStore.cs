using Crm.Actors.Domain;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;

namespace Crm.Tests.Support;

/// <summary>
/// A real store (SQLite or PostgreSQL) with faults injected in front of it: fail the first N starts, fail the
/// Nth batch or the Nth page query, hang, or slow each batch. Everything that is not failed goes to the real database.
/// </summary>
public sealed class FaultInjectingStore(IReminderStore inner) : IReminderStore
{
    private int _verifications;
    private int _writes;

    /// <summary>How many of the first start checks fail (int.MaxValue: all).</summary>
    public int FailFirstStarts { get; set; }

    /// <summary>Which write (1-based) fails, and with what; null: none.</summary>
    public (int Number, Func<Exception> Error)? FailWrite { get; set; }

    /// <summary>Every write from this one on (1-based) fails with this error.</summary>
    public (int From, Func<Exception> Error)? FailWritesFrom { get; set; }

    /// <summary>Writes wait this long before touching the database (honouring cancellation).</summary>
    public TimeSpan WriteDelay { get; set; }

    /// <summary>Writes never finish on their own (until cancelled).</summary>
    public bool HangWrites { get; set; }

    public int Verifications => Volatile.Read(ref _verifications);
    public int Writes => Volatile.Read(ref _writes);
    public int CancelledWrites;
    public int CommittedWrites;

    public string Description => $"faulty {inner.Description}";
    public DatabaseContact Contact => inner.Contact;

    public Task MigrateAsync(CancellationToken ct = default) => inner.MigrateAsync(ct);

    /// <summary>When set, each start check waits for it before answering.</summary>
    public TaskCompletionSource? VerifyGate { get; set; }

    public async Task VerifyAsync(NotificationTemplate template, CancellationToken ct = default)
    {
        var number = Interlocked.Increment(ref _verifications);
        if (VerifyGate is { } gate) await gate.Task.WaitAsync(ct);
        if (number <= FailFirstStarts) throw new StoreNotReadyException($"injected: start {number} fails");
        await inner.VerifyAsync(template, ct);
    }

    /// <summary>Every read of due rows fails with this error; null: none.</summary>
    public Func<Exception>? FailFinds { get; set; }

    /// <summary>Which read of due rows (1-based) fails, and with what; null: none.</summary>
    public (int Number, Func<Exception> Error)? FailFind { get; set; }

    /// <summary>The reads of due rows up to this one (1-based) fail with this error; null: none.</summary>
    public (int Through, Func<Exception> Error)? FailFindsThrough { get; set; }

    private int _finds;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(int Number, TimeSpan At)> _findTimes = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <summary>Reads of due rows (page queries) so far, failed ones included.</summary>
    public int Finds => Volatile.Read(ref _finds);

    /// <summary>When each read of due rows began, on a monotonic clock that started with this store.</summary>
    public IReadOnlyList<TimeSpan> FindTimes => _findTimes.OrderBy(f => f.Number).Select(f => f.At).ToList();

    public Task<IReadOnlyList<DueInteraction>> FindDueAsync(ReminderOccurrence? after, int limit, CancellationToken ct = default)
    {
        var number = Interlocked.Increment(ref _finds);
        _findTimes.Enqueue((number, _clock.Elapsed));
        if (FailFinds is { } fail) return Task.FromException<IReadOnlyList<DueInteraction>>(fail());
        if (FailFind is { } one && one.Number == number) return Task.FromException<IReadOnlyList<DueInteraction>>(one.Error());
        if (FailFindsThrough is { } first && number <= first.Through) return Task.FromException<IReadOnlyList<DueInteraction>>(first.Error());
        return inner.FindDueAsync(after, limit, ct);
    }

    public async Task<BatchResult> WriteAsync(IReadOnlyList<DueInteraction> batch, NotificationTemplate template, CancellationToken ct = default)
    {
        var number = Interlocked.Increment(ref _writes);
        if (FailWrite is { } fail && fail.Number == number) throw fail.Error();
        if (FailWritesFrom is { } from && number >= from.From) throw from.Error();
        try
        {
            if (HangWrites) await Task.Delay(Timeout.Infinite, ct);
            if (WriteDelay > TimeSpan.Zero) await Task.Delay(WriteDelay, ct);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref CancelledWrites);
            throw;
        }
        var result = await inner.WriteAsync(batch, template, ct);
        Interlocked.Increment(ref CommittedWrites);
        return result;
    }

    public Task<ReminderOutlook> OutlookAsync(CancellationToken ct = default) => inner.OutlookAsync(ct);

    public Task RecordSkippedAsync(ReminderOccurrence occurrence, string reason, CancellationToken ct = default) =>
        inner.RecordSkippedAsync(occurrence, reason, ct);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
