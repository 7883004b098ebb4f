using Akka.Actor;

namespace Crm.Host.Admin;

/// <summary>Petabridge.Cmd's <c>actor hierarchy</c>: every actor path under /user and /system, one per line.</summary>
public static class ActorHierarchy
{
    public static async Task<string> DescribeAsync(ActorSystem system, TimeSpan timeout)
    {
        var walker = system.ActorOf(Props.Create(() => new Walker()));
        var paths = await walker.Ask<IReadOnlyList<string>>(Walker.Start.Instance, timeout);
        return string.Join('\n', paths) + "\n";
    }

    /// <summary>Identifies the children of every actor it finds; answers once no reply came for a moment.</summary>
    private sealed class Walker : ReceiveActor
    {
        public sealed class Start
        {
            public static readonly Start Instance = new();
            private Start() { }
        }

        private readonly SortedSet<string> _paths = new(StringComparer.Ordinal);

        public Walker()
        {
            IActorRef? requester = null;
            Receive<Start>(_ =>
            {
                requester = Sender;
                Explore("/user");
                Explore("/system");
                Context.SetReceiveTimeout(TimeSpan.FromMilliseconds(300));
            });
            Receive<ActorIdentity>(identity =>
            {
                if (identity.Subject is not { } actor || actor.Equals(Self)) return;
                var path = actor.Path.ToStringWithoutAddress();
                if (_paths.Add(path)) Explore(path);
            });
            Receive<ReceiveTimeout>(_ =>
            {
                requester?.Tell((IReadOnlyList<string>)_paths.ToList());
                Context.Stop(Self);
            });
        }

        private void Explore(string path) => Context.ActorSelection(path + "/*").Tell(new Identify(path));
    }
}
