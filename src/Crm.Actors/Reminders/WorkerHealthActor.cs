using Akka.Actor;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Remembers how the scans went (from the event stream), for <c>/health/worker</c>: the worker is healthy when it
/// is RUNNING and a scan succeeded within two intervals (SPEC §5).
/// </summary>
public sealed class WorkerHealthActor : ReceiveActor
{
    public sealed class GetHealth
    {
        public static readonly GetHealth Instance = new();
        private GetHealth() { }
    }

    public sealed record Health(DateTimeOffset? LastScanAt, DateTimeOffset? LastSuccessAt, string? LastError);

    private Health _health = new(null, null, null);

    public WorkerHealthActor(TimeProvider clock)
    {
        Receive<ScanCompleted>(done => _health = new Health(clock.GetUtcNow(), clock.GetUtcNow(), null));
        Receive<ScanFailed>(failed => _health = _health with { LastScanAt = clock.GetUtcNow(), LastError = failed.Reason });
        Receive<GetHealth>(_ => Sender.Tell(_health));
    }

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(ScanCompleted));
        Context.System.EventStream.Subscribe(Self, typeof(ScanFailed));
    }

    /// <summary>The rule, pure: RUNNING and a success no older than two intervals.</summary>
    public static bool IsHealthy(bool running, Health health, TimeSpan interval, DateTimeOffset now) =>
        running && health.LastSuccessAt is { } success && now - success <= interval * 2;

    public static Props Props(TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new WorkerHealthActor(clock ?? TimeProvider.System));
}
