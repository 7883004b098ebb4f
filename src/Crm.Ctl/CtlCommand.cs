using System.Globalization;

namespace Crm.Ctl;

/// <summary>A command line, parsed by hand (no parser library: crmctl must start fast). <see cref="Parse"/> never throws.</summary>
public abstract record CtlCommand
{
    /// <summary>supervisorctl's <c>tail</c> without a byte count.</summary>
    public const int DefaultTailBytes = 1600;

    /// <summary>The host's own default for <c>log peek</c>.</summary>
    public const int DefaultPeekLines = 100;

    public const string Usage = """
        usage: crmctl COMMAND [ARGS]

          status [NAME...]                 one line per process: exit 3 if one is STOPPED, EXITED or FATAL, 4 if unknown
          start NAME... | stop NAME... | restart NAME...
                                           NAME: a program; clustered, its group (NAME:* too) or one process NAME:NODE
          tail [-f] [-BYTES] NAME [stdout|stderr]
                                           the last 1600 bytes of the log; -f: then follow it until Ctrl-C
          pid [NAME...|all]                the host's process id; a process's (0 when it is not up: exit 7)
          signal SIG NAME...               send SIG (HUP, SIGUSR1, 15...) to each process (NAME:* a group's)
          reread                           what changed in the configuration file
          update                           apply it: restart only the programs whose settings changed
          actor hierarchy                  one actor path per line
          log peek [N]                     the last N (100) log lines kept in memory
          events [NAME]                    state transitions, oldest first
          health                           exit 0 when the host is ready and every program is healthy
          cluster show                     the cluster's members: ADDRESS | [ROLES] | STATUS | REACHABLE | VERSION
          cluster leave ADDRESS | cluster down ADDRESS
                                           a member leaves gracefully | is marked down (akka.tcp://crm-actors@HOST:PORT)
          help                             this text, then the commands of the host's programs
          VERB [ARGS]                      a command of one of the host's programs (listed by help)

        environment:
          CRM_ADMIN_URL                    the host's admin listener (default http://127.0.0.1:9110; https:// with crm.admin.tls)
          CRM_ADMIN_TOKEN                  sent as a bearer token; the host requires it for commands that change something,
                                           and beyond loopback for everything but health
          CRM_ADMIN_TOKEN_FILE             a file holding the token (instead of CRM_ADMIN_TOKEN)
          CRM_ADMIN_CA                     a PEM file of the CA the host's https certificate must chain to

        exit status: 0 ok, 1 error, 2 usage, 3 not running (status), 4 no such process (status, tail, events) or
        host unreachable, 7 a program did not start (start, restart)

        """;

    public sealed record Help : CtlCommand;

    /// <summary>No names: every program.</summary>
    public sealed record Status(IReadOnlyList<string> Names) : CtlCommand;

    /// <summary>
    /// <c>start</c>, <c>stop</c> or <c>restart</c> of one or more names, as supervisorctl takes them (argument order);
    /// the verb is also the last segment of the host's path.
    /// </summary>
    public sealed record Control(string Verb, IReadOnlyList<string> Names) : CtlCommand;

    /// <summary><c>stdout</c> or <c>stderr</c>, as supervisorctl names a program's two logs.</summary>
    public sealed record Tail(string Name, string Stream, bool Follow, int Bytes) : CtlCommand;

    /// <summary>No names: the host's pid; <c>all</c>: every process's.</summary>
    public sealed record Pid(IReadOnlyList<string> Names) : CtlCommand;

    /// <summary>supervisorctl's <c>signal SIG NAME...</c>; the host reads the signal's name.</summary>
    public sealed record Signal(string SignalName, IReadOnlyList<string> Names) : CtlCommand;

    public sealed record Reread : CtlCommand;

    public sealed record Update : CtlCommand;

    public sealed record ActorHierarchy : CtlCommand;

    public sealed record LogPeek(int Lines) : CtlCommand;

    /// <summary>No name: every program's events.</summary>
    public sealed record Events(string? Name) : CtlCommand;

    /// <summary>A word crmctl does not know itself: a command of one of the host's programs (<c>POST /api/VERB</c>).</summary>
    public sealed record ProgramVerb(string Verb, IReadOnlyList<string> Arguments) : CtlCommand;

    public sealed record Health : CtlCommand;

    /// <summary><c>cluster show</c> (no address), <c>cluster leave ADDRESS</c>, <c>cluster down ADDRESS</c>.</summary>
    public sealed record Cluster(string Verb, string? Address) : CtlCommand;

    /// <summary>Not a command: why the words do not make one (printed before the usage text, exit 2).</summary>
    public sealed record Invalid(string Reason) : CtlCommand;

    public static CtlCommand Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0) return new Invalid("no command given");
        var verb = args[0];
        var rest = args.Skip(1).ToList();
        return verb switch
        {
            "help" or "-h" or "--help" => new Help(),
            "status" => ParseStatus(rest),
            "start" or "stop" or "restart" => rest.Count > 0 && rest.All(IsName)
                ? new Control(verb, rest)
                : new Invalid($"{verb} takes program names"),
            "tail" => ParseTail(rest),
            "reread" or "update" or "health" when rest.Count > 0 => new Invalid($"{verb} takes no arguments"),
            "pid" => rest.FirstOrDefault(name => !IsName(name)) is { } option ? new Invalid($"pid: unknown option {option}") : new Pid(rest),
            "signal" => rest is [var signal, .. var names] && names.Count > 0 && IsName(signal) && names.All(IsName)
                ? new Signal(signal, names)
                : new Invalid("signal requires a signal name and a process name: signal SIG NAME [NAME...] (NAME:* for a group)"),
            "reread" => new Reread(),
            "update" => new Update(),
            "health" => new Health(),
            "actor" => rest is ["hierarchy"] ? new ActorHierarchy() : new Invalid("usage: actor hierarchy"),
            "log" => rest switch
            {
                ["peek"] => new LogPeek(DefaultPeekLines),
                ["peek", var n] when PositiveInt(n) is { } lines => new LogPeek(lines),
                _ => new Invalid("usage: log peek [N], N > 0"),
            },
            "cluster" => rest switch
            {
                ["show"] => new Cluster("show", null),
                [var act and ("leave" or "down"), var address] when address!.StartsWith("akka.tcp://", StringComparison.Ordinal) => new Cluster(act!, address),
                _ => new Invalid("usage: cluster show | cluster leave ADDRESS | cluster down ADDRESS (akka.tcp://crm-actors@HOST:PORT)"),
            },
            "events" => rest switch
            {
                [] => new Events(null),
                [var name] when IsName(name) => new Events(name),
                _ => new Invalid("events takes at most one program name"),
            },
            _ when IsVerb(verb) => new ProgramVerb(verb, rest),
            _ => new Invalid($"unknown command: {verb}"),
        };
    }

    /// <summary>supervisorctl's <c>status all</c> is <c>status</c>.</summary>
    private static CtlCommand ParseStatus(List<string> names) =>
        names.FirstOrDefault(name => !IsName(name)) is { } option ? new Invalid($"status: unknown option {option}")
        : names.Contains("all") ? new Status([])
        : new Status(names);

    /// <summary>supervisorctl's <c>tail [-f|-BYTES] NAME [stdout|stderr]</c>; here -f and -BYTES may go together, and anywhere.</summary>
    private static CtlCommand ParseTail(List<string> rest)
    {
        var follow = false;
        int? bytes = null;
        var words = new List<string>();
        foreach (var word in rest)
        {
            if (word == "-f" && !follow) follow = true;
            else if (word.StartsWith('-') && bytes is null && PositiveInt(word[1..]) is { } count) bytes = count;
            else if (!IsName(word)) return new Invalid($"tail: unexpected option {word}");
            else words.Add(word);
        }
        return words switch
        {
            [var name] => new Tail(name, "stdout", follow, bytes ?? DefaultTailBytes),
            [var name, "stdout" or "stderr"] => new Tail(name, words[1], follow, bytes ?? DefaultTailBytes),
            [_, var stream] => new Invalid($"tail: the log is stdout or stderr, not {stream}"),
            _ => new Invalid("usage: tail [-f] [-BYTES] NAME [stdout|stderr]"),
        };
    }

    /// <summary>What a program's verb may be called (the host's HostedPrograms checks the same).</summary>
    public static bool IsVerb(string word) => word.Length is > 0 and <= 41 && char.IsAsciiLetterLower(word[0])
        && word.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-');

    private static bool IsName(string word) => word.Length > 0 && !word.StartsWith('-');

    private static int? PositiveInt(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : null;
}
