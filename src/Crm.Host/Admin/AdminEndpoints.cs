using System.Text;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Supervision;
using Crm.Host.Logging;
using Crm.Host.Programs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Host.Admin;

/// <summary>
/// The admin endpoint (docs/admin-api.md): supervisorctl's and Petabridge.Cmd's verbs over HTTP. Ask is used
/// here, at the edge, always with a timeout; every POST goes through <see cref="AdminAuth"/>.
/// </summary>
public static class AdminEndpoints
{
    private static readonly TimeSpan AskTimeout = AdminAsk.Timeout;

    public static void MapAdminApi(this IEndpointRouteBuilder app, CrmSettings settings, HostedPrograms programs)
    {
        var api = app.MapGroup("/api");
        var mutating = api.MapGroup("").AddEndpointFilter(new AdminAuth(settings.Admin));

        // Every process (clustered: of every node); ?name= as supervisorctl's status NAME: a group's processes, or one.
        api.MapGet("/programs", async (HttpRequest request, IRequiredActor<RootSupervisor> root) =>
        {
            var name = AdminQuery.Text("name", request.Query["name"]);
            if (name.Error is { } error) return BadQuery(error);
            var report = await (await root.GetAsync()).Ask<StatusReport>(new GetStatus(name.Value), AskTimeout);
            return name.Value is not null && report.Programs.Count == 0 ? NoSuchProcess() : Results.Ok(report.Programs.Select(Status));
        });
        // One process: NAME standalone, NAME:NODE clustered (or a group of one).
        api.MapGet("/programs/{name}", async (string name, IRequiredActor<RootSupervisor> root) =>
            (await (await root.GetAsync()).Ask<StatusReport>(new GetStatus(name), AskTimeout)).Programs switch
            {
                [var info] => Results.Ok(Status(info)),
                _ => NoSuchProcess(),
            });

        mutating.MapPost("/programs/{name}/start", (string name, IRequiredActor<RootSupervisor> root) => Command(root, name, new StartProgram(name), StartTimeout(name)));
        mutating.MapPost("/programs/{name}/stop", (string name, IRequiredActor<RootSupervisor> root) => Command(root, name, new StopProgram(name), StopTimeout(name)));
        // supervisorctl's signal: the name as supervisord reads it (HUP, SIGHUP, hup, 1); a bad one is its ERROR line.
        mutating.MapPost("/programs/{name}/signal/{signal}", (string name, string signal, IRequiredActor<RootSupervisor> root) =>
        {
            int number;
            try { number = Crm.Actors.Processes.SupervisordValues.Signal(signal); }
            catch (FormatException) { return Task.FromResult(Results.Ok(Answer(new CommandResult(name, [CommandOutcome.Error(CommandOutcome.BadSignalName)])))); }
            return Command(root, name, new SignalProgram(name, number), AskTimeout);
        });
        mutating.MapPost("/programs/{name}/restart", (string name, IRequiredActor<RootSupervisor> root) =>
            Command(root, name, new RestartProgram(name), StopTimeout(name) + StartTimeout(name)));

        api.MapGet("/events", async (HttpRequest request, IRequiredActor<RootSupervisor> root, ConfigurationState config) =>
        {
            var program = AdminQuery.Text("program", request.Query["program"]);
            if (program.Error is { } error) return BadQuery(error);
            if (program.Value is { } name && !config.Catalog.Contains(ProcessNames.Split(name).Program)) return NoSuchProcess();
            var report = await (await root.GetAsync()).Ask<EventsReport>(new GetEvents(program.Value), AskTimeout);
            return Results.Ok(report.Events.Select(e => new AdminApi.Event(
                e.At, ProcessNames.Of(e.Program, e.Node), e.From.Name(), e.To.Name(), e.Description, e.ToString())));
        });

        api.MapGet("/actors", async (ActorSystem system) => Results.Text(await ActorHierarchy.DescribeAsync(system, AskTimeout)));
        api.MapGet("/logs/peek", (HttpRequest request, LogRing ring) =>
        {
            var lines = AdminQuery.WholeNumber("lines", request.Query["lines"], int.MaxValue);
            return lines.Error is { } error ? BadQuery(error) : Results.Text(string.Join('\n', ring.Last((int)(lines.Value ?? 100))) + "\n");
        });
        api.MapGet("/logs/{name}", (string name, HttpRequest request, ConfigurationState config) =>
        {
            if (!config.Catalog.Contains(name)) return NoSuchProcess();
            var stream = AdminQuery.OneOf("stream", request.Query["stream"], "stdout", "stderr");
            var offset = AdminQuery.WholeNumber("offset", request.Query["offset"]);
            var tail = AdminQuery.WholeNumber("tail", request.Query["tail"]);
            if ((stream.Error ?? offset.Error ?? tail.Error) is { } error) return BadQuery(error);
            var program = programs.All.FirstOrDefault(p => p.Name == name);
            var file = program?.OutputLog(stream.Value ?? "stdout") ?? LogTail.CurrentFile(config.Current.Logging.Directory,
                Path.GetFileNameWithoutExtension(stream.Value == "stderr" ? CrmLogging.ErrorLogFile(name) : CrmLogging.LogFile(name)));
            return Results.Ok(LogTail.Read(file, offset.Value, tail.Value ?? 1600));
        });

        // The programs' own verbs (crmctl VERB [ARGS]): commands like every POST, behind the same guard.
        api.MapGet("/verbs", () => Results.Ok(programs.All.SelectMany(p => p.Verbs.Select(v => new AdminApi.Verb(v.Name, p.Name, v.Usage)))));
        foreach (var verb in programs.Verbs)
        {
            mutating.MapPost("/" + verb.Name, async (HttpContext context) =>
            {
                string[] arguments;
                try
                {
                    arguments = context.Request.HasJsonContentType() ? await context.Request.ReadFromJsonAsync<string[]>(context.RequestAborted) ?? [] : [];
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
                {
                    return BadQuery("the body must be a JSON array of the verb's arguments (strings)");
                }
                var answer = await verb.Run(new VerbRequest(context.RequestServices, arguments, context.RequestAborted));
                return Results.Ok(new AdminApi.VerbResult(answer.ExitCode, answer.Lines, answer.Data));
            });
        }

        mutating.MapPost("/reread", (ConfigurationState config) =>
        {
            try
            {
                var difference = config.Reread();
                return Results.Ok(new AdminApi.RereadResult(difference.Changed, difference.Added, difference.Removed, difference.Live, difference.NeedRestart));
            }
            catch (ConfigurationException e)
            {
                return Results.BadRequest(new AdminApi.Error(e.Message));
            }
        });
        // Every node reads its own configuration again (ConfigurationState.Reread) and restarts what changed there.
        mutating.MapPost("/update", async (IRequiredActor<RootSupervisor> root) =>
        {
            var timeout = settings.Programs.Values.Select(s => s.StopWaitSecs + (s.StartSecs > s.StartTimeout ? s.StartSecs : s.StartTimeout))
                .DefaultIfEmpty(TimeSpan.Zero).Max() + 2 * AskTimeout;
            var report = await (await root.GetAsync()).Ask<UpdateReport>(UpdateAll.Instance, timeout);
            return report.Error is { } error
                ? Results.BadRequest(new AdminApi.Error(error))
                : Results.Ok(new AdminApi.UpdateResult(report.Changed, report.Lines));
        });

        api.MapGet("/pid", () => Results.Ok(new { pid = Environment.ProcessId }));

        // A start is answered once RUNNING (startsecs, and ready within start-timeout) or at its first failure; the
        // root waits for every node's answer a little less than this.
        TimeSpan StartTimeout(string name) => Timeout(name, s => s.StartSecs > s.StartTimeout ? s.StartSecs : s.StartTimeout);
        TimeSpan StopTimeout(string name) => Timeout(name, s => s.StopWaitSecs);
        TimeSpan Timeout(string name, Func<ProgramSettings, TimeSpan> of) =>
            of(settings.Programs.TryGetValue(ProcessNames.Split(name).Program, out var found) ? found : ProgramSettings.Default) + AskTimeout;
    }

    private static async Task<IResult> Command(IRequiredActor<RootSupervisor> root, string name, object command, TimeSpan timeout)
    {
        var result = await (await root.GetAsync()).Ask<CommandResult>(command, timeout);
        return result.IsNoSuchProcess ? NoSuchProcess() : Results.Ok(Answer(result));
    }

    public static AdminApi.CommandResult Answer(CommandResult result)
    {
        var steps = result.Outcomes.Select(o => new AdminApi.CommandStep(o.Ok, o.Message, o.Detail, result.Line(o))).ToList();
        if (steps.Count == 0) return new AdminApi.CommandResult(result.Program, true, "", null, "", steps);
        var last = steps[^1];
        return new AdminApi.CommandResult(result.Program, last.Ok, last.Message, last.Detail, last.Line, steps);
    }

    private static AdminApi.ProgramStatus Status(ProgramInfo info) => new(
        info.Process, info.State.Name(), StatusDescription.Describe(info, DateTimeOffset.UtcNow),
        info.Pid, info.Since, info.LastError, info.Name, info.Node, info.Address);

    private static IResult NoSuchProcess() => Results.NotFound(new AdminApi.Error("no such process"));

    private static IResult BadQuery(string error) => Results.BadRequest(new AdminApi.Error(error));
}

/// <summary>supervisorctl's tail: the last bytes of a log file, or what was written since an offset.</summary>
public static class LogTail
{
    /// <summary>
    /// The file being written: Serilog leaves a full file where it is and goes on in the next numbered one
    /// (<c>NAME_001.log</c>, <c>NAME_002.log</c>, ...), so the current file is the highest-numbered one.
    /// </summary>
    public static string CurrentFile(string directory, string name)
    {
        var plain = Path.Combine(directory, name + ".log");
        if (!Directory.Exists(directory)) return plain;
        return Directory.GetFiles(directory, name + "_*.log")
            .Select(path => (Path: path, Number: int.TryParse(Path.GetFileNameWithoutExtension(path)[(name.Length + 1)..], out var n) ? n : -1))
            .Where(file => file.Number >= 0)
            .OrderByDescending(file => file.Number)
            .Select(file => file.Path)
            .FirstOrDefault() ?? plain;
    }

    /// <summary>The most one read returns; a longer tail is served as its last <see cref="MaxChunk"/> bytes.</summary>
    public const int MaxChunk = 1 << 20;

    /// <param name="offset">null, or where the previous read ended (0 or more).</param>
    /// <param name="tail">how many of the last bytes to read when there is no offset (0 or more).</param>
    public static AdminApi.LogChunk Read(string path, long? offset, long tail)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset ?? 0, nameof(offset)); // the endpoint answers 400 before
        ArgumentOutOfRangeException.ThrowIfNegative(tail);
        if (!File.Exists(path)) return new AdminApi.LogChunk(0, "");
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var length = stream.Length;
        // An offset past the end means the file was rolled since: start over from its beginning.
        var start = offset is { } o ? (o <= length ? o : 0) : length - Math.Min(length, Math.Min(tail, MaxChunk));
        stream.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[Math.Min(length - start, MaxChunk)];
        var read = CompleteUtf8(buffer, stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false));
        return new AdminApi.LogChunk(start + read, Encoding.UTF8.GetString(buffer, 0, read));
    }

    /// <summary>How many of the <paramref name="read"/> bytes end on a whole UTF-8 character: the rest waits for the next read.</summary>
    public static int CompleteUtf8(byte[] buffer, int read)
    {
        for (var back = 1; back <= Math.Min(4, read); back++)
        {
            var b = buffer[read - back];
            if ((b & 0xC0) == 0x80) continue; // a continuation byte: look further back for the lead byte
            var length = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : 4;
            return length > back ? read - back : read;
        }
        return read;
    }
}
