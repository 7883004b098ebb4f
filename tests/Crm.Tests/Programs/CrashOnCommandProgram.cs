using Akka.Actor;
using Crm.Actors.Configuration;
using Crm.Actors.Supervision;

namespace Crm.Tests.Programs;

/// <summary>
/// A program that exists only in the tests: it is up at once, answers <see cref="Ping"/>, and crashes when told.
/// This file and one registration line (<c>programs.AddCrashOnCommand()</c>) are all it takes to run it beside
/// reminder_worker: the supervision, the logs, the metrics and the admin routes know it by its name.
/// </summary>
public sealed class CrashOnCommandProgram : ReceiveActor
{
    public const string ProgramName = "crash_on_command";

    /// <summary>Answered with <see cref="Pong"/> while running; with <see cref="NotRunning"/> by its supervisor otherwise.</summary>
    public sealed record Ping(string From) : IProgramRequest
    {
        public object Unavailable(string reason) => new NotRunning(reason);
    }

    public sealed record Pong(string Greeting);

    public sealed record NotRunning(string Reason);

    public sealed class Crash
    {
        public static readonly Crash Instance = new();
        private Crash() { }
    }

    public CrashOnCommandProgram(string greeting)
    {
        Receive<Ping>(ping => Sender.Tell(new Pong($"{greeting}, {ping.From}")));
        Receive<Crash>(_ => throw new InvalidOperationException("crashed on command"));
        Receive<ProgramMessages.GracefulStop>(_ => Context.Stop(Self));
    }

    protected override void PreStart() => Context.Parent.Tell(ProgramInput.Ready.Instance);
}

public static class CrashOnCommandRegistration
{
    /// <summary>Its own setting, <c>test.greeting</c>, read from the host's configuration like any program's.</summary>
    public static ProgramCatalog AddCrashOnCommand(this ProgramCatalog programs) => programs.Add(Registration);

    public static readonly ProgramRegistration Registration = new(CrashOnCommandProgram.ProgramName, context =>
    {
        var greeting = context.Config.HasPath("test.greeting") ? new ConfigReader(context.Config).String("test.greeting") : "hello";
        return new ProgramDefinition(CrashOnCommandProgram.ProgramName,
            Props.Create(() => new CrashOnCommandProgram(greeting)), context.Supervision) { Options = greeting };
    });
}

