using Akka.Actor;
using Akka.Event;

namespace Crm.Actors.Supervision;

/// <summary>A program the root supervisor runs: a name (as in supervisord's [program:NAME]) and how to make it.</summary>
public sealed record ProgramDefinition(string Name, Props Props);

public static class RootSupervisorMessages
{
    /// <summary>Delivers <paramref name="Message"/> to the named program, keeping the sender.</summary>
    public sealed record ToProgram(string Program, object Message);

    public sealed record UnknownProgram(string Program);
}

/// <summary>
/// The root of the tree: starts every program and restarts a failed one. This is plain Akka supervision; the
/// supervisord state machine (STARTING, RUNNING, BACKOFF, FATAL) replaces <see cref="SupervisorStrategy"/> here.
/// </summary>
public sealed class RootSupervisor : ReceiveActor
{
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly IReadOnlyList<ProgramDefinition> _programs;

    public RootSupervisor(IReadOnlyList<ProgramDefinition> programs)
    {
        _programs = programs;
        Receive<RootSupervisorMessages.ToProgram>(envelope =>
        {
            var child = Context.Child(envelope.Program);
            if (child.IsNobody()) Sender.Tell(new RootSupervisorMessages.UnknownProgram(envelope.Program));
            else child.Forward(envelope.Message);
        });
    }

    protected override void PreStart()
    {
        foreach (var program in _programs)
            Context.ActorOf(program.Props, program.Name);
    }

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(
        maxNrOfRetries: 3,
        withinTimeRange: TimeSpan.FromMinutes(1),
        localOnlyDecider: error =>
        {
            _log.Error(error, "A program failed: {0}", error.Message);
            return Directive.Restart;
        });

    public static Props Props(IReadOnlyList<ProgramDefinition> programs) =>
        Akka.Actor.Props.Create(() => new RootSupervisor(programs));
}
