using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// The root of the tree: one <see cref="ProgramSupervisorActor"/> per program, named after it, and the router of
/// operator commands by program name. Questions about every program are answered by a short-lived collector.
/// Clustered, each program supervisor is a cluster singleton (it runs on the oldest node) and commands go through
/// a singleton proxy, so any node's root reaches it wherever it runs.
/// </summary>
public sealed class RootSupervisor : ReceiveActor
{
    public const string ActorName = "supervisor";
    private static readonly TimeSpan CollectTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The singleton's name under its manager: /user/supervisor/NAME/program.</summary>
    public const string SingletonName = "program";

    private readonly bool _clustered;

    public RootSupervisor(IReadOnlyList<ProgramDefinition> programs, bool durable, bool clustered = false)
    {
        _clustered = clustered;
        var children = programs.ToDictionary(p => p.Name, p => clustered
            ? Singleton(p, durable)
            : Context.ActorOf(ProgramSupervisorActor.Props(p, durable), p.Name));

        // supervisorctl's restart is its stop, then its start: an unknown name gets the error of each.
        void Route(string program, object message, int lines = 1)
        {
            if (children.TryGetValue(program, out var child)) child.Forward(message);
            else Sender.Tell(new CommandResult(program, Enumerable.Repeat(CommandOutcome.Error(CommandOutcome.NoSuchProcess), lines).ToList()));
        }

        Receive<StartProgram>(m => Route(m.Program, m));
        Receive<StopProgram>(m => Route(m.Program, m));
        Receive<RestartProgram>(m => Route(m.Program, m, lines: 2));
        Receive<ToProgram>(m => Route(m.Program, m));
        Receive<UpdateProgram>(m => Route(m.Definition.Name, m));
        // Clustered, a status says where the program runs: the node its answer came from.
        Receive<GetStatus>(m => m.Program is { } name && clustered && children.ContainsKey(name),
            m => Collect([children[m.Program!]], m, replies => replies.Single()));
        Receive<GetStatus>(m => m.Program is { } name, m => Route(m.Program!, m));
        Receive<GetStatus>(m => Collect(children.Values, m, replies => new StatusReport(replies.Cast<ProgramInfo>().OrderBy(p => p.Name).ToList())));
        Receive<GetEvents>(m => m.Program is { } name, m => Route(m.Program!, m));
        Receive<GetEvents>(m => Collect(children.Values, m,
            replies => new EventsReport(replies.Cast<EventsReport>().SelectMany(r => r.Events).OrderBy(e => e.At).ToList())));
        // Clustered, leaving the cluster hands the singletons over (their manager stops them); a proxy would reach
        // the programs wherever they run, and stop them there.
        if (clustered) Receive<ShutdownAll>(_ => Sender.Tell(AllStopped.Instance));
        else Receive<ShutdownAll>(m => Collect(children.Values, m, _ => AllStopped.Instance, CollectTimeoutFor(programs)));
    }

    /// <summary>
    /// The program's supervisor as a cluster singleton, and the proxy to it. A hand-over stops it hard
    /// (PoisonPill): its batch in flight is rolled back, and its next holder writes it.
    /// </summary>
    private static IActorRef Singleton(ProgramDefinition program, bool durable)
    {
        Context.ActorOf(ClusterSingletonManager.Props(ProgramSupervisorActor.Props(program, durable), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(Context.System).WithSingletonName(SingletonName)), program.Name);
        return Context.ActorOf(ClusterSingletonProxy.Props($"/user/{ActorName}/{program.Name}",
            ClusterSingletonProxySettings.Create(Context.System).WithSingletonName(SingletonName)), $"{program.Name}-proxy");
    }

    private static TimeSpan CollectTimeoutFor(IReadOnlyList<ProgramDefinition> programs) =>
        programs.Select(p => p.Settings.StopWaitSecs).DefaultIfEmpty(TimeSpan.Zero).Max() + CollectTimeout;

    private void Collect(IEnumerable<IActorRef> targets, object question, Func<IReadOnlyList<object>, object> answer, TimeSpan? timeout = null)
    {
        var list = targets.ToList();
        var self = _clustered ? ((ExtendedActorSystem)Context.System).Provider.DefaultAddress : null;
        var collector = Context.ActorOf(Akka.Actor.Props.Create(() => new Collector(Sender, list.Count, answer, timeout ?? CollectTimeout, self)));
        foreach (var target in list) target.Tell(question, collector);
    }

    /// <summary>Gathers one answer per program, then answers the requester (or with what it has, at the timeout).</summary>
    private sealed class Collector : ReceiveActor
    {
        private readonly List<object> _replies = [];

        /// <param name="self">Clustered: this node's address, to say where a local program runs; null standalone.</param>
        public Collector(IActorRef requester, int expected, Func<IReadOnlyList<object>, object> answer, TimeSpan timeout, Address? self)
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
                // A remote answer comes from the node that runs the program; a local one has no host in its path.
                if (reply is ProgramInfo info && self is not null)
                    reply = info with { Node = (Sender.Path.Address.HasGlobalScope ? Sender.Path.Address : self).ToString() };
                _replies.Add(reply);
                if (_replies.Count == expected) Finish();
            });
        }
    }

    public static Props Props(IReadOnlyList<ProgramDefinition> programs, bool durable, bool clustered = false) =>
        Akka.Actor.Props.Create(() => new RootSupervisor(programs, durable, clustered));
}
