using Akka.Actor;
using Crm.Actors.Supervision;

namespace Crm.Tests.Supervision;

/// <summary>
/// What <see cref="StubProgram"/> does, set by the test and read by every instance its supervisor spawns: whether its
/// starts fail (and how), whether it ever reports ready, how it takes a graceful stop; and what it did, counted.
/// </summary>
public sealed class StubBehaviour
{
    private int _failFirstStarts;
    private int _outageFirstStarts;
    private int _neverReady;
    private int _ignoreGracefulStop;
    private long _gracefulStopTakesTicks;
    private int _starts;
    private int _gracefulStops;
    private int _ends;

    /// <summary>How many of the first starts (counted over every instance, 1-based) fail their start check, as a
    /// refusal the program explains in one line (int.MaxValue: all).</summary>
    public int FailFirstStarts { get => Volatile.Read(ref _failFirstStarts); set => Volatile.Write(ref _failFirstStarts, value); }

    /// <summary>How many of the first starts fail because what the program depends on cannot be reached (an outage).</summary>
    public int OutageFirstStarts { get => Volatile.Read(ref _outageFirstStarts); set => Volatile.Write(ref _outageFirstStarts, value); }

    /// <summary>The start check never answers: the program never reports ready.</summary>
    public bool NeverReady { get => Volatile.Read(ref _neverReady) == 1; set => Volatile.Write(ref _neverReady, value ? 1 : 0); }

    /// <summary>A graceful stop is not obeyed: only its supervisor's hard stop ends the program.</summary>
    public bool IgnoreGracefulStop { get => Volatile.Read(ref _ignoreGracefulStop) == 1; set => Volatile.Write(ref _ignoreGracefulStop, value ? 1 : 0); }

    /// <summary>A graceful stop finishes the work in flight, which takes this long, then stops.</summary>
    public TimeSpan GracefulStopTakes
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _gracefulStopTakesTicks));
        set => Volatile.Write(ref _gracefulStopTakesTicks, value.Ticks);
    }

    /// <summary>How many instances have been spawned and checked their start.</summary>
    public int Starts => Volatile.Read(ref _starts);

    /// <summary>How many instances ended on their own after a graceful stop (not stopped hard).</summary>
    public int GracefulStops => Volatile.Read(ref _gracefulStops);

    /// <summary>How many instances have ended, however.</summary>
    public int Ends => Volatile.Read(ref _ends);

    internal int Started() => Interlocked.Increment(ref _starts);

    internal void StoppedGracefully() => Interlocked.Increment(ref _gracefulStops);

    internal void Ended() => Interlocked.Increment(ref _ends);
}

/// <summary>
/// A program written for the supervision tests: it does nothing but what <see cref="StubBehaviour"/> and the test's
/// messages tell it, so that a supervision test controls every start, failure and stop of its program. Its start
/// check is a message to itself (a real program's answers later, too); once it passes, it reports ready.
/// </summary>
public sealed class StubProgram : ReceiveActor, IWithTimers
{
    public const string ProgramName = "stub";

    private readonly StubBehaviour _behaviour;

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Answered with <see cref="Pong"/> while the program runs; with <see cref="NotRunning"/> by its supervisor otherwise.</summary>
    public sealed record Ping(string From) : IProgramRequest
    {
        public object Unavailable(string reason) => new NotRunning(reason);
    }

    /// <param name="Start">Which start (1-based, over every instance) answers.</param>
    public sealed record Pong(string Greeting, int Start);

    public sealed record NotRunning(string Reason);

    /// <summary>Fail now, with <paramref name="Reason"/>, as a failure of kind <paramref name="Kind"/>.</summary>
    public sealed record Fail(string Reason, StubFailure Kind = StubFailure.Unforeseen);

    private sealed class StartChecked
    {
        public static readonly StartChecked Instance = new();
        private StartChecked() { }
    }

    private sealed class InFlightFinished
    {
        public static readonly InFlightFinished Instance = new();
        private InFlightFinished() { }
    }

    public StubProgram(StubBehaviour behaviour)
    {
        _behaviour = behaviour;
        var start = behaviour.Started();

        Receive<StartChecked>(_ =>
        {
            if (start <= _behaviour.OutageFirstStarts) throw new StubOutageException($"injected: start {start} finds its database unreachable");
            if (start <= _behaviour.FailFirstStarts) throw new StubRefusalException($"injected: start {start} fails");
            if (!_behaviour.NeverReady) Context.Parent.Tell(ProgramInput.Ready.Instance);
        });
        Receive<Ping>(ping => Sender.Tell(new Pong($"hello, {ping.From}", start)));
        Receive<Fail>(fail => throw fail.Kind switch
        {
            StubFailure.Outage => new StubOutageException(fail.Reason),
            StubFailure.Expected => new StubRefusalException(fail.Reason),
            _ => new InvalidOperationException(fail.Reason),
        });
        Receive<ProgramMessages.GracefulStop>(_ =>
        {
            if (_behaviour.IgnoreGracefulStop) return;
            if (_behaviour.GracefulStopTakes > TimeSpan.Zero)
                Timers.StartSingleTimer(nameof(InFlightFinished), InFlightFinished.Instance, _behaviour.GracefulStopTakes);
            else Self.Tell(InFlightFinished.Instance);
        });
        Receive<InFlightFinished>(_ =>
        {
            _behaviour.StoppedGracefully();
            Context.Stop(Self);
        });
    }

    protected override void PreStart() => Self.Tell(StartChecked.Instance);

    protected override void PostStop() => _behaviour.Ended();

    /// <summary>The stub as a root supervisor runs it: its outages and refusals read as a real program's do.</summary>
    public static ProgramDefinition Program(StubBehaviour behaviour, ProgramSettings settings) =>
        new(ProgramName, Props.Create(() => new StubProgram(behaviour)), settings) { Failures = Failures };

    /// <summary>An outage is the world's fault (never FATAL); an outage or a refusal is explained in one line.</summary>
    public static ProgramFailures Failures { get; } = new(
        e => e is StubOutageException,
        e => e is StubOutageException or StubRefusalException);
}

public enum StubFailure
{
    /// <summary>A bug: logged with its stack trace.</summary>
    Unforeseen,

    /// <summary>A refusal the program explains in one line (as a database refusing is).</summary>
    Expected,

    /// <summary>What the program depends on cannot be reached (as a database down is).</summary>
    Outage,
}

/// <summary>The stub's "database unreachable".</summary>
public sealed class StubOutageException(string message) : Exception(message);

/// <summary>The stub's "database refuses": expected, explained in one line, not an outage.</summary>
public sealed class StubRefusalException(string message) : Exception(message);
