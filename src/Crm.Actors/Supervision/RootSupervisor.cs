using Akka.Actor;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// The root of the tree: one <see cref="ProgramSupervisorActor"/> per program, named after it, and the router of
/// operator commands by program name. Questions about every program are answered by a short-lived collector.
/// </summary>
public sealed class RootSupervisor : ReceiveActor
{
    public const string ActorName = "supervisor";
    private static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(5);

    public RootSupervisor(IReadOnlyList<ProgramDefinition> programs, bool durable)
    {
        var children = programs.ToDictionary(p => p.Name, p => Context.ActorOf(ProgramSupervisorActor.Props(p, durable), p.Name));

        void Route(string program, object message)
        {
            if (children.TryGetValue(program, out var child)) child.Forward(message);
            else Sender.Tell(new CommandResult(program, false, "no such process"));
        }

        Receive<StartProgram>(m => Route(m.Program, m));
        Receive<StopProgram>(m => Route(m.Program, m));
        Receive<RestartProgram>(m => Route(m.Program, m));
        Receive<ToProgram>(m => Route(m.Program, m));
        Receive<UpdateProgram>(m => Route(m.Definition.Name, m));
        Receive<GetStatus>(m => m.Program is { } name, m => Route(m.Program!, m));
        Receive<GetStatus>(m => Collect(children.Values, m, replies => new StatusReport(replies.Cast<ProgramInfo>().OrderBy(p => p.Name).ToList())));
        Receive<GetEvents>(m => m.Program is { } name, m => Route(m.Program!, m));
        Receive<GetEvents>(m => Collect(children.Values, m,
            replies => new EventsReport(replies.Cast<EventsReport>().SelectMany(r => r.Events).OrderBy(e => e.At).ToList())));
        Receive<ShutdownAll>(m => Collect(children.Values, m, _ => AllStopped.Instance, CollectTimeoutFor(programs)));
    }

    private static TimeSpan CollectTimeoutFor(IReadOnlyList<ProgramDefinition> programs) =>
        programs.Select(p => p.Settings.StopWaitSecs).DefaultIfEmpty(TimeSpan.Zero).Max() + CollectTimeout;

    private void Collect(IEnumerable<IActorRef> targets, object question, Func<IReadOnlyList<object>, object> answer, TimeSpan? timeout = null)
    {
        var list = targets.ToList();
        var collector = Context.ActorOf(Akka.Actor.Props.Create(() => new Collector(Sender, list.Count, answer, timeout ?? CollectTimeout)));
        foreach (var target in list) target.Tell(question, collector);
    }

    /// <summary>Gathers one answer per program, then answers the requester (or with what it has, at the timeout).</summary>
    private sealed class Collector : ReceiveActor
    {
        private readonly List<object> _replies = [];

        public Collector(IActorRef requester, int expected, Func<IReadOnlyList<object>, object> answer, TimeSpan timeout)
        {
            void Finish()
            {
                requester.Tell(answer(_replies));
                Context.Stop(Self);
            }

            if (expected == 0) Finish();
            Context.SetReceiveTimeout(timeout);
            Receive<ReceiveTimeout>(_ => Finish());
            ReceiveAny(reply =>
            {
                _replies.Add(reply);
                if (_replies.Count == expected) Finish();
            });
        }
    }

    public static Props Props(IReadOnlyList<ProgramDefinition> programs, bool durable) =>
        Akka.Actor.Props.Create(() => new RootSupervisor(programs, durable));
}
