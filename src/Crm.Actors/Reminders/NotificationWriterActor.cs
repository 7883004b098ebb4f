using Akka.Actor;
using Akka.Event;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Actors.Telemetry;
using static Crm.Actors.Reminders.NotificationWriterMessages;

namespace Crm.Actors.Reminders;

/// <summary>
/// Writes batches, one transaction each (see <see cref="IReminderStore.WriteAsync"/>). One batch at a time: the
/// mailbox waits while a batch is in flight. A database error is answered with <see cref="BatchFailed"/> and then
/// fails this actor, so that its supervisor decides (restart on a transient error).
/// </summary>
public sealed class NotificationWriterActor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();

    // Cancelled when this actor stops: a batch still in flight when its program is stopped hard is rolled back.
    private readonly CancellationTokenSource _stopping = new();

    public NotificationWriterActor(IReminderStore store, NotificationTemplate template, TimeProvider clock)
    {
        ReceiveAsync<WriteBatch>(async request =>
        {
            var replyTo = Sender;
            try
            {
                var outcome = await BadRowIsolation.WriteAsync(
                    request.Batch,
                    async batch =>
                    {
                        var result = await store.WriteAsync(batch, template, _stopping.Token);
                        RecordDelays(result, clock.GetUtcNow());
                        return result;
                    },
                    async (occurrence, reason) =>
                    {
                        await store.RecordSkippedAsync(occurrence, reason, _stopping.Token);
                        ReminderMetrics.Process.RowsSkipped.Add(1);
                        _log.Warning("Skipped interaction {0} (next action at {1:O}): the database refused its notification: {2}",
                            occurrence.InteractionId, occurrence.NextActionAt, reason);
                    });
                replyTo.Tell(new BatchWritten(request.Sequence, outcome));
            }
            catch (Exception e)
            {
                replyTo.Tell(new BatchFailed(request.Sequence, e.Message));
                throw new ReminderPipelineException("writing a batch failed; it was rolled back whole", e);
            }
        });
    }

    /// <summary>
    /// The service's own delay for each notification, as the store measured it by the database's clock (from the
    /// later of next_action_at and the row's insert or move, not from a date already past when the row came):
    /// the histogram and the dashboard's lateness chart count the same values.
    /// </summary>
    private static void RecordDelays(BatchResult result, DateTimeOffset now)
    {
        ReminderMetrics.Process.NotificationsCreated.Add(result.Written);
        foreach (var seconds in result.DelaySeconds)
        {
            ReminderMetrics.Process.ReminderDelay.Record(Math.Max(0, seconds));
            LatenessHistory.Written.Record(now, seconds);
        }
    }

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    public static Props Props(IReminderStore store, NotificationTemplate template, TimeProvider? clock = null) =>
        Akka.Actor.Props.Create(() => new NotificationWriterActor(store, template, clock ?? TimeProvider.System));
}

/// <summary>A failure of the pipeline, wrapping the database's error so that supervisors can classify it.</summary>
public sealed class ReminderPipelineException(string message, Exception inner) : Exception($"{message}: {inner.Message}", inner);
