using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Supervision;

/// <summary>
/// The supervisord state machine, pure. Rules (SPEC §3): RUNNING only after startsecs alive and ready, which
/// resets the failed-start count; a failure before that is a failed start, BACKOFF then a restart after the
/// backoff delay; more than startretries failed starts in a row is FATAL (supervisord 4.2 passes through BACKOFF
/// for an instant there; this goes straight to FATAL); a failure after RUNNING is EXITED, restarted at once when
/// autorestart is on; FATAL stays until an operator start, or until fatal-retry-after when set.
/// Operator commands are answered as supervisorctl 4.2.5 answers them (SPEC §4), through <see cref="ProgramEffect.Answer"/>.
/// </summary>
public static class ProgramStateMachine
{
    private const string RestartReason = "restarted by operator";
    private const string UpdateReason = "configuration updated";

    public static Transition Apply(ProgramStatus status, ProgramInput input, ProgramSettings settings, DateTimeOffset now, double random)
    {
        var step = new Step(status, settings, now, random);
        return Settle(input switch
        {
            ProgramInput.Boot boot => step.Boot(boot),
            ProgramInput.Remembered remembered => step.Remembered(remembered),
            ProgramInput.Start start => step.Start(start),
            ProgramInput.Stop stop => step.Stop(stop),
            ProgramInput.Restart restart => step.Restart(restart),
            ProgramInput.Update update => step.Update(update),
            ProgramInput.Shutdown shutdown => step.Shutdown(shutdown),
            _ => step.Run(input),
        });
    }

    /// <summary>One input's decision, with what it is decided from.</summary>
    private sealed class Step(ProgramStatus status, ProgramSettings settings, DateTimeOffset now, double random)
    {
        private ProgramState State => status.State;

        /// <summary>The journal's boot: autostart, unless an operator stopped it (remembered, or since the host started).</summary>
        public Transition Boot(ProgramInput.Boot boot)
        {
            if (status.Booted) return Ignore();
            var booted = status with { Booted = true };
            if (State != ProgramState.Stopped) return new Transition(booted, [], "booted"); // an operator started it meanwhile
            if ((status.OperatorStopped ?? boot.OperatorStopped) == true)
                return new Transition(booted, [new ProgramEffect.Note("stays STOPPED: an operator stopped it")], "booted");
            if (!settings.AutoStart)
                return new Transition(booted, [new ProgramEffect.Note("stays STOPPED: autostart is off")], "booted");
            return Spawn("autostart", 0, 0, booted);
        }

        /// <summary>Booted without the journal, it remembers an operator's stop: unless an operator spoke since, stop.</summary>
        public Transition Remembered(ProgramInput.Remembered remembered) =>
            remembered.OperatorStopped == true && status.OperatorStopped is null && status.IsUp
                ? StopFor("stopped by operator (remembered once the journal answered)", null, status)
                : Ignore();

        public Transition Start(ProgramInput.Start start)
        {
            var intent = start.ReplyTo is null ? [] : new ProgramEffect[] { new ProgramEffect.RecordIntent(false) };
            var commanded = start.ReplyTo is null ? status : status with { OperatorStopped = false };
            switch (State)
            {
                case ProgramState.Stopped or ProgramState.Exited or ProgramState.Fatal:
                    if (start.ReplyTo is { } replyTo)
                        commanded = commanded with { Waiting = commanded.Waiting.Add(new Waiter.ForStart(replyTo, [], CommandOutcome.Started)) };
                    return Spawn(start.Reason, 0, 0, commanded,
                        State == ProgramState.Fatal ? [.. intent, new ProgramEffect.Cancel(ProgramInput.FatalRetryElapsed.Instance)] : intent);
                case ProgramState.Stopping:
                    return start.ReplyTo is { } stopping ? Answer(stopping, CommandOutcome.Error("stopping")) : Ignore();
                default: // supervisord's RUNNING_STATES; not an error for supervisorctl's exit status
                    return start.ReplyTo is { } up
                        ? new Transition(commanded, [.. intent, new ProgramEffect.Answer(up, [CommandOutcome.Error(CommandOutcome.AlreadyStarted)])], "answered")
                        : Ignore();
            }
        }

        public Transition Stop(ProgramInput.Stop stop)
        {
            if (stop.ReplyTo is not { } replyTo)
                return status.IsUp ? StopFor(stop.Reason, null, status) : Ignore();
            var commanded = status with { OperatorStopped = true };
            var intent = new ProgramEffect.RecordIntent(true);
            var waiter = new Waiter.ForStop(replyTo, [], null);
            switch (State)
            {
                case ProgramState.Starting or ProgramState.Running or ProgramState.Backoff:
                    var stopped = StopFor(stop.Reason, waiter, commanded);
                    return stopped with { Effects = [intent, .. stopped.Effects] };
                case ProgramState.Stopping: // the last word is the operator's: no start after this stop
                    return new Transition(commanded with { Waiting = status.Waiting.Add(waiter), Then = NoStart(status.Then) },
                        [intent], "stop requested again");
                default: // STOPPED, EXITED, FATAL keep their state; a FATAL one is not retried any more
                    return new Transition(commanded,
                        [intent, new ProgramEffect.Cancel(ProgramInput.FatalRetryElapsed.Instance),
                         new ProgramEffect.Answer(replyTo, [CommandOutcome.Error(CommandOutcome.NotRunning)])], "answered");
            }
        }

        public Transition Restart(ProgramInput.Restart restart)
        {
            var commanded = status with { OperatorStopped = false };
            ProgramEffect intent = new ProgramEffect.RecordIntent(false);
            switch (State)
            {
                case ProgramState.Starting or ProgramState.Running or ProgramState.Backoff:
                    var stopped = StopFor(RestartReason, new Waiter.ForStop(restart.ReplyTo, [], CommandOutcome.Started),
                        commanded with { Then = new AfterStop(StartReason: RestartReason) });
                    return stopped with { Effects = [intent, .. stopped.Effects] };
                case ProgramState.Stopping:
                    return new Transition(commanded with
                    {
                        Waiting = status.Waiting.Add(new Waiter.ForStop(restart.ReplyTo, [], CommandOutcome.Started)),
                        Then = (status.Then ?? new AfterStop()) with { StartReason = RestartReason },
                    }, [intent], "restart requested");
                default: // nothing to stop: say so, then start
                    return new Transition(commanded with
                    {
                        Waiting = status.Waiting.Add(new Waiter.ForStart(restart.ReplyTo, [CommandOutcome.Error(CommandOutcome.NotRunning)], CommandOutcome.Started)),
                    }, [intent], "restart requested", new ProgramInput.Start(RestartReason));
            }
        }

        public Transition Update(ProgramInput.Update update) => State switch
        {
            ProgramState.Starting or ProgramState.Running or ProgramState.Backoff =>
                StopFor(UpdateReason, new Waiter.ForStop(update.ReplyTo, [], CommandOutcome.Updated),
                    status with { Then = new AfterStop(update.Definition, UpdateReason) }),
            // Whoever stops it decides what follows; it stops with the new settings.
            ProgramState.Stopping => new Transition(status with { Then = (status.Then ?? new AfterStop()) with { Definition = update.Definition } },
                [new ProgramEffect.Answer(update.ReplyTo, [CommandOutcome.Updated])], "configuration updated"),
            // Not up: it keeps its state.
            _ => Stay("configuration updated", new ProgramEffect.Reconfigure(update.Definition),
                new ProgramEffect.Answer(update.ReplyTo, [CommandOutcome.Updated])),
        };

        public Transition Shutdown(ProgramInput.Shutdown shutdown)
        {
            var waiting = status with { Waiting = status.Waiting.Add(new Waiter.ForShutdown(shutdown.ReplyTo)) };
            return State switch
            {
                ProgramState.Starting or ProgramState.Running or ProgramState.Backoff => StopFor("host shutting down", null, waiting),
                ProgramState.Stopping => new Transition(waiting with { Then = NoStart(status.Then) }, [], "host shutting down"),
                _ => new Transition(waiting, [], "host shutting down"),
            };
        }

        /// <summary>What the program reports, and the machine's timers.</summary>
        public Transition Run(ProgramInput input)
        {
            switch (input)
            {
                case ProgramInput.Ready when State == ProgramState.Starting:
                    return status.StartSecsPassed ? Running("started") : Stay("ready") with { Next = status with { Ready = true } };
                case ProgramInput.StartSecsElapsed when State == ProgramState.Starting:
                    return status.Ready
                        ? Running($"started: alive for {settings.StartSecs.TotalSeconds:0.###}s")
                        : Stay("startsecs passed") with { Next = status with { StartSecsPassed = true } };

                // Not ready within start-timeout: whatever it waits for (a database that accepts and never answers),
                // it is stopped, and its end is a failed start.
                case ProgramInput.StartTimedOut when State == ProgramState.Starting && !status.Ready:
                    return Stay("start-timeout passed", new ProgramEffect.Kill(
                        $"not ready within start-timeout ({settings.StartTimeout.TotalSeconds:0.###}s): its start check did not answer"));

                case ProgramInput.Failed { Outage: true } failed when State == ProgramState.Starting:
                    return Outage(failed.Error);
                case ProgramInput.Failed failed when State == ProgramState.Starting:
                    return FailedStart(failed.Error);
                case ProgramInput.Failed failed when State == ProgramState.Running:
                    var restart = settings.AutoRestart && !(failed.ExpectedExit && settings.AutoRestartUnexpectedOnly);
                    return Go(ProgramState.Exited, $"exited: {failed.Error}",
                        followUp: restart ? new ProgramInput.Start("autorestart") : null, failedStarts: 0, error: failed.Error);
                case ProgramInput.Failed failed when State == ProgramState.Stopping:
                    return Go(ProgramState.Stopped, $"stopped (failed while stopping: {failed.Error})",
                        [new ProgramEffect.Cancel(ProgramInput.StopWaitElapsed.Instance)]);
                case ProgramInput.Stopped when State == ProgramState.Stopping:
                    return Go(ProgramState.Stopped, "stopped", [new ProgramEffect.Cancel(ProgramInput.StopWaitElapsed.Instance)]);
                case ProgramInput.StopWaitElapsed when State == ProgramState.Stopping:
                    return Stay("stopwaitsecs passed", new ProgramEffect.Kill(
                        $"did not stop within stopwaitsecs ({settings.StopWaitSecs.TotalSeconds:0.###}s): stopping it now; any batch still being written is rolled back"));

                case ProgramInput.Spawned spawned when State is ProgramState.Starting or ProgramState.Running or ProgramState.Stopping:
                    return Stay("spawned") with { Next = status with { Pid = spawned.Pid, SpawnedAt = spawned.At } };

                case ProgramInput.BackoffElapsed when State == ProgramState.Backoff:
                    return Spawn(status.Outages > 0
                            ? $"retry after database outage (attempt {status.Outages + 1})"
                            : $"retry after backoff (failed starts: {status.FailedStarts})",
                        status.FailedStarts, status.Outages);
                case ProgramInput.FatalRetryElapsed when State == ProgramState.Fatal && settings.FatalRetryAfter is not null:
                    return Spawn($"fatal-retry-after {settings.FatalRetryAfter}", 0, 0);

                // Late news of a program that is already gone, or a timer that lost its race: nothing changes.
                default:
                    return Ignore();
            }
        }

        /// <summary>A move to another state: Ready and StartSecsPassed belong to one STARTING. error: null keeps the last one, "" clears it.</summary>
        private Transition Go(ProgramState to, string description, ProgramEffect[]? effects = null, ProgramInput? followUp = null,
            int? failedStarts = null, string? error = null, int? outages = null, ProgramStatus? basis = null) =>
            new((basis ?? status) with
            {
                State = to, Since = now, Ready = false, StartSecsPassed = false,
                // A child's pid lasts while it runs: every state but these follows its end (or precedes its spawn).
                Pid = status.Pid is null || to is ProgramState.Running or ProgramState.Stopping ? status.Pid : 0,
                FailedStarts = failedStarts ?? status.FailedStarts, Outages = outages ?? status.Outages,
                LastError = error is null ? status.LastError : error.Length == 0 ? null : error,
            }, effects ?? [], description, followUp);

        private Transition Stay(string description, params ProgramEffect[] effects) => new(status, effects, description);

        private Transition Ignore() => Stay("ignored");

        private Transition Answer(IActorRef replyTo, params CommandOutcome[] outcomes) => Stay("answered", new ProgramEffect.Answer(replyTo, outcomes));

        private Transition Spawn(string description, int failedStarts, int outages, ProgramStatus? basis = null, params ProgramEffect[] first) =>
            Go(ProgramState.Starting, description,
                [.. first, ProgramEffect.Spawn.Instance, new ProgramEffect.Schedule(ProgramInput.StartSecsElapsed.Instance, settings.StartSecs),
                 new ProgramEffect.Schedule(ProgramInput.StartTimedOut.Instance, settings.StartTimeout)],
                failedStarts: failedStarts, outages: outages, basis: (basis ?? status) with { EverStarted = true, SpawnedAt = now });

        private Transition Running(string description) =>
            Go(ProgramState.Running, description, [new ProgramEffect.Cancel(ProgramInput.StartTimedOut.Instance)], failedStarts: 0, error: "", outages: 0);

        /// <summary>The timers of a STARTING that ends.</summary>
        private static ProgramEffect[] StartTimers() =>
            [new ProgramEffect.Cancel(ProgramInput.StartSecsElapsed.Instance), new ProgramEffect.Cancel(ProgramInput.StartTimedOut.Instance)];

        /// <summary>
        /// A stop that an operator (or a restart, an update, the host) may wait for. STARTING or RUNNING: ask the
        /// program to stop, stop it hard after stopwaitsecs. BACKOFF: nothing runs, the stop is immediate.
        /// </summary>
        private Transition StopFor(string description, Waiter? waiter, ProgramStatus basis)
        {
            if (waiter is not null) basis = basis with { Waiting = basis.Waiting.Add(waiter) };
            return State == ProgramState.Backoff
                ? Go(ProgramState.Stopped, description, [new ProgramEffect.Cancel(ProgramInput.BackoffElapsed.Instance)], basis: basis)
                : Go(ProgramState.Stopping, description,
                    [ProgramEffect.StopProgram.Instance, .. StartTimers(),
                     new ProgramEffect.Schedule(ProgramInput.StopWaitElapsed.Instance, settings.StopWaitSecs)], basis: basis);
        }

        private Transition FailedStart(string error)
        {
            var failedStarts = status.FailedStarts + 1;
            if (failedStarts > settings.StartRetries)
                return Go(ProgramState.Fatal, $"Exited too quickly: gave up after {failedStarts} failed starts: {error}",
                    settings.FatalRetryAfter is { } after ? [.. StartTimers(), new ProgramEffect.Schedule(ProgramInput.FatalRetryElapsed.Instance, after)] : StartTimers(),
                    failedStarts: failedStarts, error: error);
            return Go(ProgramState.Backoff, $"Exited too quickly (failed start {failedStarts} of {settings.StartRetries + 1}): {error}",
                [.. StartTimers(), new ProgramEffect.Schedule(ProgramInput.BackoffElapsed.Instance, settings.BackoffDelay(failedStarts, random))],
                failedStarts: failedStarts, error: error);
        }

        /// <summary>A database outage of any length: retry every outage-backoff at most, never FATAL (supervisor#487).</summary>
        private Transition Outage(string error)
        {
            var delay = settings.OutageDelay(status.Outages + 1, random);
            return Go(ProgramState.Backoff, $"database unreachable, retrying in {delay.TotalSeconds:0.#}s (not a failed start): {error}",
                [.. StartTimers(), new ProgramEffect.Schedule(ProgramInput.BackoffElapsed.Instance, delay)],
                outages: status.Outages + 1, error: error);
        }
    }

    /// <summary>
    /// The level of a transition's log line. During an outage the retries go on quietly: its first BACKOFF is the
    /// news, the RUNNING after it the end.
    /// </summary>
    public static LogLevel LogLevelOf(ProgramStatus next) => next.State switch
    {
        _ when next.Outages > 1 || (next.Outages == 1 && next.State == ProgramState.Starting) => LogLevel.DebugLevel,
        ProgramState.Fatal => LogLevel.ErrorLevel,
        ProgramState.Backoff or ProgramState.Exited => LogLevel.WarningLevel,
        _ => LogLevel.InfoLevel,
    };

    private static AfterStop? NoStart(AfterStop? then) => then is null ? null : then with { StartReason = null };

    /// <summary>
    /// Once STOPPED, what was to follow the stop (new settings, a start); then the waiting operators whose outcome
    /// is now known are answered.
    /// </summary>
    private static Transition Settle(Transition transition)
    {
        var (next, effects, followUp) = (transition.Next, transition.Effects.ToList(), transition.FollowUp);
        if (next.State == ProgramState.Stopped && next.Then is { } then)
        {
            if (then.Definition is { } definition) effects.Add(new ProgramEffect.Reconfigure(definition));
            if (then.StartReason is { } reason) followUp = new ProgramInput.Start(reason);
            next = next with { Then = null };
        }

        var starting = followUp is ProgramInput.Start;
        var waiting = ImmutableList.CreateBuilder<Waiter>();
        foreach (var waiter in next.Waiting)
        {
            var (still, answer) = Outcome(waiter, next, starting);
            if (answer is not null) effects.Add(answer);
            else waiting.Add(still ?? waiter);
        }
        return transition with { Next = next with { Waiting = waiting.ToImmutable() }, Effects = effects, FollowUp = followUp };
    }

    /// <summary>A waiter's answer (an effect), or its next form (a waiter), or neither: it waits on as it is.</summary>
    private static (Waiter? Still, ProgramEffect? Answer) Outcome(Waiter waiter, ProgramStatus status, bool starting) => waiter switch
    {
        Waiter.ForStop stop when status.State == ProgramState.Stopped => stop.ThenStarted is { } success && starting
            ? (new Waiter.ForStart(stop.ReplyTo, stop.Earned.Add(CommandOutcome.Stopped), success), null)
            : (null, new ProgramEffect.Answer(stop.ReplyTo, stop.Earned.Add(CommandOutcome.Stopped))),
        Waiter.ForStart start => status.State switch
        {
            ProgramState.Running => (null, new ProgramEffect.Answer(start.ReplyTo, start.Earned.Add(start.Success))),
            ProgramState.Backoff or ProgramState.Fatal =>
                (null, new ProgramEffect.Answer(start.ReplyTo, start.Earned.Add(CommandOutcome.Error(CommandOutcome.SpawnError, status.LastError)))),
            ProgramState.Stopped or ProgramState.Exited when !starting =>
                (null, new ProgramEffect.Answer(start.ReplyTo, start.Earned.Add(CommandOutcome.Error(CommandOutcome.AbnormalTermination, status.LastError)))),
            _ => (null, null),
        },
        Waiter.ForShutdown down when status.State is ProgramState.Stopped or ProgramState.Exited or ProgramState.Fatal =>
            (null, new ProgramEffect.AnswerDown(down.ReplyTo)),
        _ => (null, null),
    };
}
