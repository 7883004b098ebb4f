using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Supervision;
using Sentry;

namespace Crm.Host.Alerting;

/// <summary>
/// The seed's first wish: program failures, FATAL and unhandled exceptions go to Sentry, through its official
/// SDK, tagged with the program and its state. Only with SENTRY_DSN set; without it nothing is initialised or sent.
/// </summary>
public static class SentryAlerts
{
    /// <summary>Starts the SDK when a DSN is configured; the returned handle flushes it on dispose.</summary>
    public static IDisposable? Start(string? dsn, string release) =>
        string.IsNullOrWhiteSpace(dsn)
            ? null
            : SentrySdk.Init(options =>
            {
                options.Dsn = dsn;
                options.Release = release;
                options.SendDefaultPii = false;   // no user names, no request bodies
                options.AutoSessionTracking = false;
                options.AttachStacktrace = true;
            });

    /// <summary>Sends the transitions an operator must hear of: a failed start, an exit, FATAL.</summary>
    public static AkkaConfigurationBuilder WithSentryAlerts(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, _) => system.ActorOf(Props.Create(() => new TransitionForwarder()), "sentry-alerts"));

    public static SentryLevel? LevelOf(ProgramState state) => state switch
    {
        ProgramState.Fatal => SentryLevel.Fatal,
        ProgramState.Backoff or ProgramState.Exited => SentryLevel.Error,
        _ => null,
    };

    private sealed class TransitionForwarder : ReceiveActor
    {
        public TransitionForwarder()
        {
            Receive<ProgramTransition>(transition =>
            {
                if (LevelOf(transition.To) is not { } level) return;
                SentrySdk.CaptureMessage($"{transition.Program} {transition.From.Name()} -> {transition.To.Name()}: {transition.Description}",
                    scope =>
                    {
                        scope.SetTag("program", transition.Program);
                        scope.SetTag("state", transition.To.Name());
                        scope.SetTag("from_state", transition.From.Name());
                    },
                    level);
            });
        }

        protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(ProgramTransition));
    }
}
