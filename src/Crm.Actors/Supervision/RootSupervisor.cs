using Akka.Actor;
using Akka.Cluster;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Actors.Supervision;

/// <summary>
/// The root of a node's tree: one <see cref="ProgramSupervisorActor"/> per program, named after it, and the router
/// of operator commands by supervisorctl's names. Standalone it answers for its own processes. Clustered, every node
/// runs every program, as standalone instances do (the database arbitrates, so a node's death costs no lateness),
/// and a program is a group with one process per node (SPEC §8): the root a command reaches asks every reachable
/// member's root (<see cref="NodeRequest"/>, data only) and puts their answers together, as supervisorctl does for a
/// group. The group's operator intent is journaled (<see cref="GroupIntentActor"/>), so that a node that starts
/// later, or a whole cluster restarted, takes it.
/// </summary>
public sealed class RootSupervisor : ReceiveActor
{
    public const string ActorName = "supervisor";

    /// <summary>How long an answer from another node is waited for, beyond the time the command itself may take.</summary>
    private static readonly TimeSpan NodeMargin = TimeSpan.FromSeconds(5);

    private readonly IReadOnlyDictionary<string, ProgramDefinition> _programs;
    private readonly Dictionary<string, IActorRef> _children = [];
    /// <summary>Clustered: this node's name, the process part of <c>NAME:NODE</c>.</summary>
    private readonly string? _node;
    private readonly IProgramReloader? _reloader;
    /// <summary>Clustered: the other members that can be asked (joining to exiting, reachable). By unique address: a
    /// node started again at the same address is a new member, which the old one's removal must not take away.</summary>
    private readonly Dictionary<UniqueAddress, MemberStatus> _members = [];
    private readonly HashSet<UniqueAddress> _unreachable = [];
    private readonly Address? _selfAddress;
    private readonly IActorRef _groupIntents = ActorRefs.Nobody;

    public RootSupervisor(IReadOnlyList<ProgramDefinition> programs, bool durable, IProgramReloader? reloader = null)
    {
        _programs = programs.ToDictionary(p => p.Name);
        _reloader = reloader;
        // Started in ascending priority, as supervisord starts them (each on its own: none waits for another's RUNNING).
        foreach (var program in programs.OrderBy(p => p.Priority).ThenBy(p => p.Name, StringComparer.Ordinal))
            _children[program.Name] = Context.ActorOf(ProgramSupervisorActor.Props(program, durable), program.Name);
        _node = programs.FirstOrDefault(p => p.Clustered)?.Node;
        if (_node is not null)
        {
            _selfAddress = Cluster.Get(Context.System).SelfAddress;
            if (durable) _groupIntents = Context.ActorOf(GroupIntentActor.Props(), "group-intents");
        }

        // From this node's edge (admin, dashboard): the whole group.
        Receive<GetStatus>(m => AskNodes(m, NodeMargin, replies =>
            new StatusReport([.. replies.OfType<StatusReport>().SelectMany(r => r.Programs).OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Node, StringComparer.Ordinal)])));
        Receive<GetEvents>(m => AskNodes(m, NodeMargin, replies =>
            new EventsReport([.. replies.OfType<EventsReport>().SelectMany(r => r.Events).OrderBy(e => e.At)])));
        Receive<StartProgram>(m => Command(m.Program, StartTimeout, group => new StartProgram(group, InGroup: true), process => new StartProgram(process), stopped: false));
        Receive<StopProgram>(m => Command(m.Program, StopTimeout, group => new StopProgram(group, InGroup: true), process => new StopProgram(process), stopped: true));
        Receive<RestartProgram>(Restart);
        // A signal is answered at once by each process; the margin bounds another node's answer (a loaded machine's).
        Receive<SignalProgram>(m => Command(m.Program, _ => NodeMargin, group => new SignalProgram(group, m.Signal, InGroup: true),
            process => new SignalProgram(process, m.Signal), stopped: null));
        Receive<RestartStopped>(stopped => Command(stopped.Group, StartTimeout, group => new StartProgram(group, InGroup: true), null, stopped: false,
            requester: stopped.Requester, earlier: stopped.Result));
        Receive<UpdateAll>(_ => AskNodes(UpdateNode.Instance, _programs.Values.Select(p => StopTimeout(p.Name) + StartTimeout(p.Name)).DefaultIfEmpty(TimeSpan.Zero).Max() + NodeMargin,
            replies => new UpdateReport([.. replies.OfType<UpdateReport>().SelectMany(r => r.Lines)],
                [.. replies.OfType<UpdateReport>().SelectMany(r => r.Changed).Distinct().Order()],
                replies.OfType<UpdateReport>().Select(r => r.Error).FirstOrDefault(e => e is not null))));
        Receive<ToProgram>(m =>
        {
            if (_children.TryGetValue(m.Program, out var child)) child.Forward(m);
            else if (m.Message is IProgramRequest request) Sender.Tell(request.Unavailable(CommandOutcome.NoSuchProcess));
        });
        // The host stops: in descending priority, as supervisord does, one priority after the other, each program
        // within its stopwaitsecs (the API before the worker it may call, for instance).
        Receive<ShutdownAll>(_ => ShutdownFrom(0, Sender));
        Receive<ShutdownNext>(next => ShutdownFrom(next.Level, next.Requester));

        // From a root (this one, or another node's): this node's processes only.
        Receive<NodeRequest>(m => AnswerForThisNode(m.Request));

        // MemberRemoved and MemberDowned are status changes too: Member forgets those members.
        Receive<ClusterEvent.MemberStatusChange>(m => Member(m.Member));
        Receive<ClusterEvent.UnreachableMember>(m => _unreachable.Add(m.Member.UniqueAddress));
        Receive<ClusterEvent.ReachableMember>(m => _unreachable.Remove(m.Member.UniqueAddress));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    protected override void PreStart()
    {
        if (_node is not null)
            Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
    }

    protected override void PostStop()
    {
        if (_node is not null) Cluster.Get(Context.System).Unsubscribe(Self);
    }

    private void Member(Member member)
    {
        if (member.Address == _selfAddress) return;
        if (member.Status is MemberStatus.Down or MemberStatus.Removed)
        {
            _members.Remove(member.UniqueAddress);
            _unreachable.Remove(member.UniqueAddress);
        }
        else _members[member.UniqueAddress] = member.Status;
    }

    private TimeSpan StartTimeout(string program) =>
        _programs.TryGetValue(program, out var p) ? (p.Settings.StartSecs > p.Settings.StartTimeout ? p.Settings.StartSecs : p.Settings.StartTimeout) + NodeMargin : NodeMargin;

    private TimeSpan StopTimeout(string program) =>
        _programs.TryGetValue(program, out var p) ? p.Settings.StopWaitSecs + NodeMargin : NodeMargin;

    /// <summary>
    /// start or stop: of one process (standalone, or <c>NAME:NODE</c>), answered as supervisorctl answers for a
    /// process; of a group (<c>NAME</c>, <c>NAME:*</c> in a cluster), every node's process to which it applies, one
    /// line each in name order, and the group's intent journaled.
    /// </summary>
    /// <param name="stopped">The group's intent a group command leaves (stopped or not); null: none (a signal).</param>
    private void Command(string name, Func<string, TimeSpan> timeout, Func<string, object> toGroup, Func<string, object>? toProcess, bool? stopped,
        IActorRef? requester = null, CommandResult? earlier = null)
    {
        var replyTo = requester ?? Sender;
        var (program, node) = ProcessNames.Split(name);
        if (!_programs.ContainsKey(program))
        {
            replyTo.Tell(NoSuch(name, 1));
            return;
        }
        if (_node is null)
        {
            // Standalone: one process, named after its program.
            if (node is not null && toProcess is not null) replyTo.Tell(new CommandResult(name, [CommandOutcome.Error(CommandOutcome.NoSuchProcess)]));
            else _children[program].Tell(toProcess?.Invoke(program) ?? toGroup(program), replyTo);
            return;
        }
        var groupCommand = node is null || toProcess is null;
        if (groupCommand && earlier is null && stopped is { } intent)
            _groupIntents.Tell(new GroupIntentActor.Record(program, new OperatorIntent(Guid.NewGuid(), DateTimeOffset.UtcNow, intent)));
        var question = groupCommand ? toGroup(program) : toProcess!(name);
        AskNodes(question, timeout(program), replies =>
        {
            var outcomes = replies.OfType<CommandResult>()
                .SelectMany(r => r.Outcomes.Select(o => o with { Process = o.Process ?? r.Program }))
                .OrderBy(o => o.Process, StringComparer.Ordinal).ToList();
            if (!groupCommand && outcomes.Count == 0) outcomes.Add(CommandOutcome.Error(CommandOutcome.NoSuchProcess));
            return new CommandResult(name, [.. earlier?.Outcomes ?? [], .. outcomes]);
        }, replyTo);
    }

    /// <summary>supervisorctl's answer for a name it does not know: <c>NAME:*</c> names a group, anything else a process.</summary>
    private static CommandResult NoSuch(string name, int lines) => name.IndexOf(':') is var colon && colon >= 0 && name[(colon + 1)..] is "*" or ""
        ? new CommandResult(name[..colon], [.. Enumerable.Repeat(CommandOutcome.Error(CommandOutcome.NoSuchGroup), lines)])
        : new CommandResult(name, [.. Enumerable.Repeat(CommandOutcome.Error(CommandOutcome.NoSuchProcess), lines)]);

    /// <summary>supervisorctl's restart is its stop, then its start: for a group, every stop line, then every start line.</summary>
    private void Restart(RestartProgram restart)
    {
        var (program, node) = ProcessNames.Split(restart.Program);
        if (!_programs.ContainsKey(program))
        {
            Sender.Tell(NoSuch(restart.Program, 2));
            return;
        }
        if (_node is null || node is not null)
        {
            Command(restart.Program, p => StopTimeout(p) + StartTimeout(p), _ => new RestartProgram(program), _ => new RestartProgram(restart.Program), stopped: false);
            return;
        }
        var requester = Sender;
        var self = Self;
        _groupIntents.Tell(new GroupIntentActor.Record(program, new OperatorIntent(Guid.NewGuid(), DateTimeOffset.UtcNow, false)));
        AskNodes(new StopProgram(program, InGroup: true), StopTimeout(program), replies =>
        {
            var outcomes = replies.OfType<CommandResult>()
                .SelectMany(r => r.Outcomes.Select(o => o with { Process = o.Process ?? r.Program }))
                .OrderBy(o => o.Process, StringComparer.Ordinal);
            self.Tell(new RestartStopped(requester, program, new CommandResult(program, [.. outcomes])));
            return null;
        });
    }

    /// <summary>This node's part of a question asked of every node.</summary>
    private void AnswerForThisNode(object request)
    {
        switch (request)
        {
            case GetStatus status:
                var address = _selfAddress?.ToString();
                Collect(Local(status.Program), _ => status, replies =>
                    new StatusReport([.. replies.OfType<ProgramInfo>().Select(p => p with { Address = address })]), NodeMargin);
                break;
            case GetEvents events:
                Collect(Local(events.Program), _ => events, replies => new EventsReport([.. replies.OfType<EventsReport>().SelectMany(r => r.Events)]), NodeMargin);
                break;
            case StartProgram or StopProgram or RestartProgram or SignalProgram:
                var name = request switch { StartProgram s => s.Program, StopProgram s => s.Program, SignalProgram s => s.Program, _ => ((RestartProgram)request).Program };
                var (program, node) = ProcessNames.Split(name);
                if (node is not null && node != _node || !_children.TryGetValue(program, out var child)) Sender.Tell(new CommandResult(name, []));
                else child.Forward(request switch
                {
                    StartProgram s => s with { Program = program },
                    StopProgram s => s with { Program = program },
                    SignalProgram s => s with { Program = program },
                    _ => new RestartProgram(program),
                });
                break;
            case UpdateNode:
                UpdateThisNode();
                break;
        }
    }

    /// <summary>This node's processes that <paramref name="name"/> names (all when null).</summary>
    private IReadOnlyList<ICanTell> Local(string? name)
    {
        if (name is null) return [.. _children.Values];
        var (program, node) = ProcessNames.Split(name);
        return node is not null && node != _node || !_children.TryGetValue(program, out var child) ? [] : [child];
    }

    /// <summary>supervisorctl's update on this node: its configuration read again, the programs whose settings changed restarted.</summary>
    private void UpdateThisNode()
    {
        if (_reloader is null)
        {
            Sender.Tell(new UpdateReport([], [], "this host has no configuration to read again"));
            return;
        }
        var plan = _reloader.Reread();
        if (plan.Error is not null)
        {
            Sender.Tell(new UpdateReport([], [], plan.Error));
            return;
        }
        var changed = plan.Changed.Where(p => _children.ContainsKey(p.Name)).ToList();
        var prefix = _node is null ? "" : _node + ": ";
        Collect([.. changed.Select(p => (ICanTell)_children[p.Name])], target => new UpdateProgram(changed.Single(p => _children[p.Name].Equals(target))),
            replies =>
            {
                plan.Apply();
                return new UpdateReport([.. replies.OfType<CommandResult>().SelectMany(r => r.Lines), .. plan.HostLines.Select(line => prefix + line)],
                    [.. changed.Select(p => p.Name)]);
            },
            changed.Select(p => StopTimeout(p.Name) + StartTimeout(p.Name)).DefaultIfEmpty(TimeSpan.Zero).Max() + NodeMargin);
    }

    /// <summary>Asks this node and every member that can answer; <paramref name="answer"/> puts their replies together
    /// (null: it has answered itself).</summary>
    private void AskNodes(object question, TimeSpan timeout, Func<IReadOnlyList<object>, object?> answer, IActorRef? requester = null)
    {
        var targets = new List<ICanTell> { Self };
        targets.AddRange(_members.Keys.Where(m => !_unreachable.Contains(m))
            .Select(m => (ICanTell)Context.ActorSelection(new RootActorPath(m.Address) / "user" / ActorName)));
        Collect(targets, _ => new NodeRequest(question), answer, timeout, requester);
    }

    private void Collect(IReadOnlyList<ICanTell> targets, Func<ICanTell, object> question, Func<IReadOnlyList<object>, object?> answer, TimeSpan timeout,
        IActorRef? requester = null)
    {
        var collector = Context.ActorOf(Akka.Actor.Props.Create(() => new Collector(requester ?? Sender, targets.Count, answer, timeout)));
        foreach (var target in targets) target.Tell(question(target), collector);
    }

    /// <summary>The programs of one priority have stopped: the next priority down follows.</summary>
    private sealed record ShutdownNext(int Level, IActorRef Requester) : INoSerializationVerificationNeeded;

    private void ShutdownFrom(int level, IActorRef requester)
    {
        var levels = _programs.Values.GroupBy(p => p.Priority).OrderByDescending(g => g.Key).ToList();
        if (level >= levels.Count)
        {
            requester.Tell(AllStopped.Instance);
            return;
        }
        var programs = levels[level].ToList();
        Collect([.. programs.Select(p => (ICanTell)_children[p.Name])], _ => ShutdownAll.Instance, _ => new ShutdownNext(level + 1, requester),
            programs.Max(p => p.Settings.StopWaitSecs) + NodeMargin, Self);
    }

    /// <summary>A group restart's stops are done: its starts follow.</summary>
    private sealed record RestartStopped(IActorRef Requester, string Group, CommandResult Result) : INoSerializationVerificationNeeded;

    /// <summary>Gathers one answer per target, then answers the requester (or with what it has, at the timeout).</summary>
    private sealed class Collector : ReceiveActor
    {
        private readonly List<object> _replies = [];

        public Collector(IActorRef requester, int expected, Func<IReadOnlyList<object>, object?> answer, TimeSpan timeout)
        {
            void Finish()
            {
                if (answer(_replies) is { } reply) requester.Tell(reply);
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

    public static Props Props(IReadOnlyList<ProgramDefinition> programs, bool durable, IProgramReloader? reloader = null) =>
        Akka.Actor.Props.Create(() => new RootSupervisor(programs, durable, reloader));
}

/// <summary>This node's configuration, read again for supervisorctl's <c>update</c>.</summary>
public interface IProgramReloader
{
    ReloadPlan Reread();
}

/// <param name="Changed">The programs whose settings changed, made from the configuration read again.</param>
/// <param name="HostLines">What the host's own settings did (<c>KEY: applied</c>, <c>KEY: not applied, ...</c>).</param>
/// <param name="Apply">Makes the configuration read the one in effect, once the programs have taken theirs.</param>
/// <param name="Error">Why the configuration could not be read (then nothing else is set).</param>
public sealed record ReloadPlan(IReadOnlyList<ProgramDefinition> Changed, IReadOnlyList<string> HostLines, Action Apply, string? Error = null)
{
    public static ReloadPlan Failed(string error) => new([], [], () => { }, error);
}
