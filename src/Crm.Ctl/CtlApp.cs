namespace Crm.Ctl;

/// <summary>
/// crmctl: supervisorctl's and Petabridge.Cmd's verbs against the host's admin listener (docs/admin-api.md). The
/// formats and exit statuses are decided by <see cref="StatusLine"/> and <see cref="Reports"/>; HTTP is
/// <see cref="AdminClient"/>'s. Everything is passed in, so tests run it in-process.
/// </summary>
public sealed class CtlApp
{
    public const string UrlVariable = "CRM_ADMIN_URL";
    public const string TokenVariable = "CRM_ADMIN_TOKEN";
    public const string DefaultUrl = "http://127.0.0.1:9110";

    /// <summary>The pause between two reads of <c>tail -f</c>.</summary>
    public static readonly TimeSpan FollowInterval = TimeSpan.FromMilliseconds(500);

    private readonly AdminClient _admin;
    private readonly TextWriter _stdout;
    private readonly TextWriter _stderr;
    private readonly CancellationToken _ct;

    private CtlApp(AdminClient admin, TextWriter stdout, TextWriter stderr, CancellationToken ct) =>
        (_admin, _stdout, _stderr, _ct) = (admin, stdout, stderr, ct);

    /// <summary>Runs one command line; returns the exit status. <paramref name="cancellation"/> is Ctrl-C.</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr,
        IReadOnlyDictionary<string, string?> environment, CancellationToken cancellation = default)
    {
        var command = CtlCommand.Parse(args);
        switch (command)
        {
            case CtlCommand.Invalid invalid:
                await stderr.WriteLineAsync($"crmctl: {invalid.Reason}");
                await stderr.WriteAsync(CtlCommand.Usage);
                return ExitCodes.Usage;
        }

        var url = (environment.GetValueOrDefault(UrlVariable) is { Length: > 0 } configured ? configured : DefaultUrl).TrimEnd('/');
        if (!Uri.TryCreate(url + "/", UriKind.Absolute, out var baseAddress) || baseAddress.Scheme is not ("http" or "https"))
        {
            await stderr.WriteLineAsync($"crmctl: {UrlVariable} is not an http:// or https:// URL: {url}");
            return ExitCodes.Usage;
        }
        AdminConnection connection;
        try
        {
            connection = AdminConnection.From(environment);
        }
        catch (ArgumentException e)
        {
            await stderr.WriteLineAsync($"crmctl: {e.Message}");
            return ExitCodes.Usage;
        }

        using var admin = new AdminClient(baseAddress, connection.Token, RequestTimeout(command), connection.Handler());
        try
        {
            return await new CtlApp(admin, stdout, stderr, cancellation).ExecuteAsync(command);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            return 130; // 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            await stderr.WriteLineAsync($"crmctl: no answer from {url} within {admin.Timeout.TotalSeconds:0} s");
            return ExitCodes.UnknownOrUnreachable;
        }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.SecureConnectionError)
        {
            // Unreachable as far as crmctl may trust it: the same exit status as a host that does not answer.
            await stderr.WriteLineAsync($"crmctl: cannot reach {url} securely: {connection.Certificates.Problem ?? Reports.FailureReason(e)}");
            return ExitCodes.UnknownOrUnreachable;
        }
        catch (HttpRequestException e)
        {
            await stderr.WriteLineAsync($"crmctl: cannot reach {url}: {Reports.FailureReason(e)}");
            return ExitCodes.UnknownOrUnreachable;
        }
        catch (AdminRefusedException e)
        {
            await stderr.WriteLineAsync($"crmctl: {e.Message} (set {TokenVariable})");
            return ExitCodes.Error;
        }
        catch (AdminFailedException e)
        {
            await stderr.WriteLineAsync($"crmctl: ERROR ({e.Message})");
            return ExitCodes.Error;
        }
        catch (AdminAnswerException e)
        {
            await stderr.WriteLineAsync($"crmctl: unexpected answer from {url}: {e.Message}");
            return ExitCodes.Error;
        }
    }

    /// <summary>
    /// Per request. start, stop, restart and update wait, as supervisorctl does, until the program is RUNNING or its
    /// start failed: the host bounds that itself by the program's settings (stopwaitsecs, then startsecs or
    /// start-timeout: under a minute with the defaults), and a program's verb by its own bound. health must finish within the
    /// HEALTHCHECK's 10 s. Other reads get more than the host's own 10 s bound, so its error is what is printed.
    /// </summary>
    internal static TimeSpan RequestTimeout(CtlCommand command) => command switch
    {
        CtlCommand.Control or CtlCommand.Update or CtlCommand.ProgramVerb => TimeSpan.FromMinutes(5),
        CtlCommand.Help => TimeSpan.FromSeconds(3),
        CtlCommand.Health => TimeSpan.FromSeconds(9),
        _ => TimeSpan.FromSeconds(15),
    };

    private Task<int> ExecuteAsync(CtlCommand command) => command switch
    {
        CtlCommand.Status status => StatusAsync(status.Names),
        CtlCommand.Control control => ControlAsync(control),
        CtlCommand.Tail tail => TailAsync(tail),
        CtlCommand.Pid pid => PidAsync(pid.Names),
        CtlCommand.Signal signal => SignalAsync(signal),
        CtlCommand.Reread => RereadAsync(),
        CtlCommand.Update => UpdateAsync(),
        CtlCommand.ActorHierarchy => TextAsync("api/actors"),
        CtlCommand.LogPeek peek => TextAsync($"api/logs/peek?lines={peek.Lines}"),
        CtlCommand.Events events => EventsAsync(events.Name),
        CtlCommand.ProgramVerb verb => VerbAsync(verb),
        CtlCommand.Help => HelpAsync(),
        CtlCommand.Health => HealthAsync(),
        CtlCommand.Cluster cluster => ClusterAsync(cluster),
        _ => throw new InvalidOperationException($"no handler for {command}"),
    };

    /// <summary>As supervisorctl: unknown names are reported first, then the status lines.</summary>
    private async Task<int> StatusAsync(IReadOnlyList<string> names)
    {
        var listed = new List<ProgramStatus>();
        var anyUnknown = false;
        if (names.Count == 0) listed.AddRange(await _admin.GetAsync("api/programs", AdminJson.Default.ListProgramStatus, _ct));
        foreach (var name in names)
        {
            // A group's name lists its processes (NAME:NODE, one per node of a cluster), as supervisorctl's status GROUP.
            if (await _admin.FindAsync(HttpMethod.Get, $"api/programs?name={Escape(name)}", AdminJson.Default.ListProgramStatus, _ct) is { Count: > 0 } found)
            {
                listed.AddRange(found);
                continue;
            }
            anyUnknown = true;
            await _stdout.WriteLineAsync(StatusLine.NoSuchProcess(name));
        }
        var width = StatusLine.NameWidth(listed.Select(program => program.Name));
        foreach (var program in listed)
            await _stdout.WriteLineAsync(StatusLine.Format(program.Name, program.State, program.Description, width));
        return StatusLine.ExitCode(listed.Select(program => program.State), anyUnknown);
    }

    /// <summary>
    /// supervisorctl's lines on stdout (a restart: the stop's, then the start's), and why a start failed on stderr,
    /// on a line of its own. An unknown name is an error of each step, exit 1, as supervisorctl has it.
    /// </summary>
    private async Task<int> ControlAsync(CtlCommand.Control control)
    {
        // supervisorctl takes the names one after the other; a restart of several is the stop of them all, then the
        // start of them all (its do_restart: do_stop, then do_start), one of one name the host's restart.
        IReadOnlyList<string> phases = control is { Verb: "restart", Names.Count: > 1 } ? ["stop", "start"] : [control.Verb];
        var steps = new List<CommandStep>();
        foreach (var verb in phases)
            foreach (var name in control.Names)
                steps.AddRange(await ControlOneAsync(verb, name));
        return Reports.ControlExitCode(steps, control.Verb);
    }

    private async Task<IReadOnlyList<CommandStep>> ControlOneAsync(string verb, string name)
    {
        var result = await _admin.FindAsync(HttpMethod.Post, $"api/programs/{Escape(name)}/{verb}", AdminJson.Default.CommandResult, _ct);
        var steps = result is not null
            ? Reports.Steps(result)
            : Enumerable.Repeat(new CommandStep(false, "no such process", StatusLine.NoSuchProcess(name), null), verb == "restart" ? 2 : 1).ToList();
        foreach (var step in steps)
        {
            await _stdout.WriteLineAsync(step.Line);
            if (!step.Ok && step.Detail is { Length: > 0 } detail) await _stderr.WriteLineAsync(detail);
        }
        return steps;
    }

    /// <summary>The last bytes; with -f, then what was written since the offset the host returned, until Ctrl-C.</summary>
    private async Task<int> TailAsync(CtlCommand.Tail tail)
    {
        var path = $"api/logs/{Escape(tail.Name)}?stream={tail.Stream}";
        var chunk = await _admin.FindAsync(HttpMethod.Get, $"{path}&tail={tail.Bytes}", AdminJson.Default.LogChunk, _ct);
        while (true)
        {
            if (chunk is null) return await NoSuchProcessAsync(tail.Name);
            await _stdout.WriteAsync(chunk.Text);
            await _stdout.FlushAsync(_ct);
            if (!tail.Follow) return ExitCodes.Ok;
            try
            {
                await Task.Delay(FollowInterval, _ct);
                chunk = await _admin.FindAsync(HttpMethod.Get, $"{path}&offset={chunk.Offset}", AdminJson.Default.LogChunk, _ct);
            }
            catch (OperationCanceledException) when (_ct.IsCancellationRequested)
            {
                return ExitCodes.Ok; // Ctrl-C is how tail -f ends
            }
        }
    }

    /// <summary>
    /// supervisorctl 4.2.5's pid: the host's; <c>pid NAME</c> the process's, 0 and exit 7 when it is not up;
    /// <c>No such process NAME</c>, exit 1, for an unknown one; <c>pid all</c> every process's, exit 0.
    /// </summary>
    private async Task<int> PidAsync(IReadOnlyList<string> names)
    {
        if (names.Count == 0)
        {
            await _stdout.WriteLineAsync((await _admin.GetAsync("api/pid", AdminJson.Default.PidBody, _ct)).Pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return ExitCodes.Ok;
        }
        if (names.Contains("all"))
        {
            foreach (var program in await _admin.GetAsync("api/programs", AdminJson.Default.ListProgramStatus, _ct))
                await _stdout.WriteLineAsync(StatusLine.PidOf(program).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return ExitCodes.Ok;
        }
        var code = ExitCodes.Ok;
        foreach (var name in names)
        {
            if (await _admin.FindAsync(HttpMethod.Get, $"api/programs/{Escape(name)}", AdminJson.Default.ProgramStatus, _ct) is not { } program)
            {
                await _stdout.WriteLineAsync($"No such process {name}");
                code = ExitCodes.Error;
                continue;
            }
            var pid = StatusLine.PidOf(program);
            await _stdout.WriteLineAsync(pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (pid == 0) code = ExitCodes.FailedToStart;
        }
        return code;
    }

    /// <summary>supervisorctl 4.2.5's signal: one line per process; exit 7 when one was not running, 1 for a bad name or signal.</summary>
    private async Task<int> SignalAsync(CtlCommand.Signal signal)
    {
        var steps = new List<CommandStep>();
        foreach (var name in signal.Names)
        {
            var result = await _admin.FindAsync(HttpMethod.Post, $"api/programs/{Escape(name)}/signal/{Escape(signal.SignalName)}", AdminJson.Default.CommandResult, _ct);
            steps.AddRange(result is null ? [new CommandStep(false, "no such process", StatusLine.NoSuchProcess(name))] : Reports.Steps(result));
        }
        foreach (var step in steps) await _stdout.WriteLineAsync(step.Line);
        return steps.Where(s => !s.Ok).Select(s => s.Message == "not running" ? ExitCodes.FailedToStart : ExitCodes.Error).LastOrDefault(ExitCodes.Ok);
    }

    private async Task<int> RereadAsync()
    {
        await WriteLinesAsync(Reports.RereadLines(await _admin.PostAsync("api/reread", AdminJson.Default.RereadResult, _ct)));
        return ExitCodes.Ok;
    }

    /// <summary>supervisorctl's update prints nothing when nothing changed.</summary>
    private async Task<int> UpdateAsync()
    {
        var lines = (await _admin.PostAsync("api/update", AdminJson.Default.UpdateResult, _ct)).Lines ?? [];
        await WriteLinesAsync(lines);
        return Reports.UpdateExitCode(lines);
    }

    private async Task<int> EventsAsync(string? name)
    {
        var path = name is null ? "api/events" : $"api/events?program={Escape(name)}";
        var events = await _admin.FindAsync(HttpMethod.Get, path, AdminJson.Default.ListProgramEvent, _ct);
        if (events is null) return await NoSuchProcessAsync(name ?? "");
        await WriteLinesAsync(events.Select(e => e.Line));
        return ExitCodes.Ok;
    }

    /// <summary>A command of one of the host's programs: its lines and exit status as the host gives them.</summary>
    private async Task<int> VerbAsync(CtlCommand.ProgramVerb verb)
    {
        var result = await _admin.FindJsonAsync($"api/{verb.Verb}", verb.Arguments.ToArray(), AdminJson.Default.StringArray, AdminJson.Default.VerbResult, _ct);
        if (result is null)
        {
            await _stderr.WriteLineAsync($"crmctl: unknown command: {verb.Verb} (not crmctl's, nor one of the host's programs')");
            await _stderr.WriteAsync(CtlCommand.Usage);
            return ExitCodes.Usage;
        }
        await WriteLinesAsync(result.Lines ?? []);
        return result.ExitCode;
    }

    /// <summary>The usage, then the commands the host's programs bring (when the host answers; the usage alone otherwise).</summary>
    private async Task<int> HelpAsync()
    {
        await _stdout.WriteAsync(CtlCommand.Usage);
        List<ProgramVerb> verbs;
        try { verbs = await _admin.GetAsync("api/verbs", AdminJson.Default.ListProgramVerb, _ct); }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or AdminAnswerException or AdminFailedException or AdminRefusedException)
        {
            await _stdout.WriteLineAsync($"the commands of the host's programs: the host does not answer ({Reports.FailureReason(e)})");
            return ExitCodes.Ok;
        }
        if (verbs.Count == 0) return ExitCodes.Ok;
        await _stdout.WriteLineAsync("commands of the host's programs:");
        foreach (var verb in verbs) await _stdout.WriteLineAsync($"  {verb.Name,-32} {verb.Usage} ({verb.Program})");
        return ExitCodes.Ok;
    }

    /// <summary>Healthy when the host is ready and every program is: both asked at once, to fit the HEALTHCHECK's timeout.</summary>
    private async Task<int> HealthAsync()
    {
        var checks = await Task.WhenAll(_admin.GetAnyAsync("health/ready", _ct), _admin.GetAnyAsync("health/programs", _ct));
        foreach (var (status, reason, body) in checks)
        {
            if ((int)status is >= 200 and < 300) continue;
            await _stdout.WriteLineAsync(Reports.UnhealthyLine(body, (int)status, reason));
            return ExitCodes.Error;
        }
        await _stdout.WriteLineAsync("healthy");
        return ExitCodes.Ok;
    }

    private async Task<int> ClusterAsync(CtlCommand.Cluster command)
    {
        if (command.Address is not { } address)
        {
            var report = await _admin.GetAsync("api/cluster", AdminJson.Default.ClusterReport, _ct);
            if (!report.Clustered)
            {
                await _stdout.WriteLineAsync("not clustered (crm.cluster.enabled = off)");
                return ExitCodes.Error;
            }
            await WriteLinesAsync(Reports.ClusterLines(report.Members ?? []));
            return ExitCodes.Ok;
        }
        var done = await _admin.PostJsonAsync($"api/cluster/{command.Verb}", new MemberRequest(address),
            AdminJson.Default.MemberRequest, AdminJson.Default.MessageBody, _ct);
        await _stdout.WriteLineAsync(done.Message);
        return ExitCodes.Ok;
    }

    /// <summary>Printed as the host wrote it; a last line break is added if missing, so the prompt starts on a line of its own.</summary>
    private async Task<int> TextAsync(string path)
    {
        var text = await _admin.GetTextAsync(path, _ct);
        await _stdout.WriteAsync(text);
        if (text.Length > 0 && !text.EndsWith('\n')) await _stdout.WriteLineAsync();
        return ExitCodes.Ok;
    }

    private async Task<int> NoSuchProcessAsync(string name)
    {
        await _stdout.WriteLineAsync(StatusLine.NoSuchProcess(name));
        return ExitCodes.UnknownOrUnreachable;
    }

    private async Task WriteLinesAsync(IEnumerable<string> lines)
    {
        foreach (var line in lines) await _stdout.WriteLineAsync(line);
    }

    /// <summary>For a path segment and for a query value alike (a space is %20, never +).</summary>
    private static string Escape(string name) => Uri.EscapeDataString(name);
}
