using Akka.Actor;
using Akka.Hosting;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// The scans' facts, as the event stream tells them (<see cref="ScanCompleted"/>, <see cref="ScanFailed"/>): the
/// last scans for <c>GET /api/scans</c> and the dashboard (SPEC §10), a ring of <see cref="Capacity"/> entries,
/// bounded whatever the uptime; and how the scans went for <c>/health/worker</c> (SPEC §5). In memory only: a
/// restarted host starts with an empty history (the journal keeps transitions, not scans).
/// </summary>
public sealed class ScanHistoryActor : ReceiveActor
{
    public const int Capacity = 200;

    /// <summary>The last <paramref name="Count"/> scans (at most <see cref="Capacity"/>), newest first.</summary>
    public sealed record GetScans(int Count);

    /// <param name="At">when the scan started (completed) or when its failure was told (failed).</param>
    /// <param name="Duration">null for a failed scan: the failure does not say when it started.</param>
    /// <param name="Error">null for a completed scan.</param>
    /// <param name="Held">Found due but held by another transaction: looked at again within held-recheck.</param>
    public sealed record Scan(DateTimeOffset At, string Trigger, bool Completed, int Found, int Written, int NotDue, int Skipped,
        int Batches, TimeSpan? Duration, string? Error, int Held = 0);

    public sealed record Scans(IReadOnlyList<Scan> Newest);

    public sealed class GetHealth
    {
        public static readonly GetHealth Instance = new();
        private GetHealth() { }
    }

    public sealed record Health(DateTimeOffset? LastScanAt, DateTimeOffset? LastSuccessAt, string? LastError);

    private readonly LinkedList<Scan> _scans = new();
    /// <summary>Kept apart from the ring: a run of failed rechecks may push the last success out of it.</summary>
    private Health _health = new(null, null, null);

    public ScanHistoryActor(TimeProvider clock)
    {
        Receive<ScanCompleted>(done =>
        {
            _health = new Health(clock.GetUtcNow(), clock.GetUtcNow(), null);
            var r = done.Report;
            Add(new Scan(r.StartedAt, r.Trigger, true, r.Found, r.Outcome.Written, r.Outcome.NotDue, r.Outcome.Skipped, r.Batches, r.Duration, null,
                r.Outcome.Held));
        });
        Receive<ScanFailed>(failed =>
        {
            _health = _health with { LastScanAt = clock.GetUtcNow(), LastError = failed.Reason };
            Add(new Scan(clock.GetUtcNow(), failed.Trigger, false, 0, 0, 0, 0, 0, null, failed.Reason));
        });
        Receive<GetScans>(get => Sender.Tell(new Scans([.. _scans.Take(Math.Clamp(get.Count, 0, Capacity))])));
        Receive<GetHealth>(_ => Sender.Tell(_health));
    }

    private void Add(Scan scan)
    {
        _scans.AddFirst(scan);
        if (_scans.Count > Capacity) _scans.RemoveLast();
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(ScanCompleted));
        Context.System.EventStream.Subscribe(Self, typeof(ScanFailed));
    }

    /// <summary>The worker's health rule, pure: RUNNING and a success no older than two intervals.</summary>
    public static bool IsHealthy(bool running, Health health, TimeSpan interval, DateTimeOffset now) =>
        running && health.LastSuccessAt is { } success && now - success <= interval * 2;

    public static Props Props(TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new ScanHistoryActor(clock ?? TimeProvider.System));
}

public static class ScanHistoryHosting
{
    /// <summary>The scans' facts, registered as <see cref="ScanHistoryActor"/>.</summary>
    public static AkkaConfigurationBuilder WithScanHistory(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry) =>
            registry.Register<ScanHistoryActor>(system.ActorOf(ScanHistoryActor.Props(), "scan-history")));
}
