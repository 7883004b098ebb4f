using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;

namespace Crm.Ctl;

/// <summary>
/// crmctl: supervisorctl and Petabridge.Cmd's verbs against the host's admin endpoint. The HTTP part is thin; the
/// formats and exit codes are <see cref="Decisions"/>'.
/// </summary>
public sealed class CtlApp(HttpClient http, TextWriter stdout)
{
    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, IReadOnlyDictionary<string, string?> environment)
    {
        var command = CtlCommand.Parse(args);
        if (command is null || command.Verb == "help")
        {
            await (command is null ? stderr : stdout).WriteAsync(CtlCommand.Usage);
            return command is null ? ExitCodes.Usage : ExitCodes.Ok;
        }
        var url = environment.GetValueOrDefault("CRM_ADMIN_URL") is { Length: > 0 } configured ? configured : "http://127.0.0.1:9110";
        using var http = new HttpClient { BaseAddress = new Uri(url.TrimEnd('/') + "/"), Timeout = TimeoutFor(command.Verb) };
        if (environment.GetValueOrDefault("CRM_ADMIN_TOKEN") is { Length: > 0 } token)
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        try
        {
            return await new CtlApp(http, stdout).RunAsync(command);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            await stderr.WriteLineAsync($"crmctl: cannot reach {url}: {e.Message}");
            return ExitCodes.UnknownOrUnreachable;
        }
        catch (RefusedException e)
        {
            await stderr.WriteLineAsync($"crmctl: {e.Message} (set CRM_ADMIN_TOKEN)");
            return ExitCodes.Error;
        }
        catch (HostErrorException e)
        {
            await stderr.WriteLineAsync($"crmctl: ERROR ({e.Message})");
            return ExitCodes.Error;
        }
    }

    /// <summary>start and restart wait for RUNNING (startsecs), as supervisorctl does; health must answer quickly.</summary>
    private static TimeSpan TimeoutFor(string verb) => verb switch
    {
        "health" => TimeSpan.FromSeconds(10),
        "start" or "stop" or "restart" or "update" or "scan-now" => TimeSpan.FromMinutes(5),
        _ => TimeSpan.FromSeconds(30),
    };

    private Task<int> RunAsync(CtlCommand command) => command.Verb switch
    {
        "status" => StatusAsync(command.Names),
        "start" or "stop" or "restart" => ControlAsync(command.Verb, command.Names[0]),
        "tail" => TailAsync(command.Names[0], command.Stream, command.Follow),
        "pid" => PrintAsync(Get("api/pid", AdminJson.Default.PidBody), pid => pid.Pid.ToString()),
        "reread" => PrintAsync(Send("api/reread", AdminJson.Default.RereadResult), r => string.Join('\n', Decisions.RereadLines(r))),
        "update" => PrintAsync(Send("api/update", AdminJson.Default.UpdateResult), r => string.Join('\n', r.Lines.DefaultIfEmpty("No config updates to processes"))),
        "scan-now" => ScanAsync(),
        "health" => HealthAsync(),
        "actor hierarchy" => TextAsync("api/actors"),
        "log peek" => TextAsync($"api/logs/peek?lines={command.Lines}"),
        "events" => PrintAsync(Get(command.Names.Count == 1 ? $"api/events?program={Uri.EscapeDataString(command.Names[0])}" : "api/events",
            AdminJson.Default.ListProgramEvent), events => string.Join('\n', events.Select(e => e.Line))),
        _ => Task.FromResult(ExitCodes.Usage),
    };

    private async Task<int> StatusAsync(IReadOnlyList<string> names)
    {
        var unknown = false;
        var listed = new List<ProgramStatus>();
        if (names.Count == 0)
        {
            listed.AddRange((await Get("api/programs", AdminJson.Default.ListProgramStatus))!);
        }
        foreach (var name in names)
        {
            using var response = await http.GetAsync($"api/programs/{Uri.EscapeDataString(name)}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                unknown = true;
                await stdout.WriteLineAsync($"{name}: ERROR (no such process)");
                continue;
            }
            listed.Add((await Read(response, AdminJson.Default.ProgramStatus))!);
        }
        foreach (var program in listed)
            await stdout.WriteLineAsync(Decisions.StatusLine(program.Name, program.State, program.Description));
        return Decisions.StatusExitCode(listed.Select(p => p.State), unknown);
    }

    private async Task<int> ControlAsync(string verb, string name)
    {
        using var response = await http.PostAsync($"api/programs/{Uri.EscapeDataString(name)}/{verb}", null);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            await stdout.WriteLineAsync($"{name}: ERROR (no such process)");
            return ExitCodes.UnknownOrUnreachable;
        }
        var result = (await Read(response, AdminJson.Default.CommandResult))!;
        await stdout.WriteLineAsync(result.Line);
        return result.Ok ? ExitCodes.Ok : ExitCodes.Error;
    }

    private async Task<int> TailAsync(string name, string stream, bool follow)
    {
        long? offset = null;
        do
        {
            using var response = await http.GetAsync($"api/logs/{Uri.EscapeDataString(name)}?stream={stream}{(offset is { } o ? $"&offset={o}" : "")}");
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                await stdout.WriteLineAsync($"{name}: ERROR (no such process)");
                return ExitCodes.UnknownOrUnreachable;
            }
            var chunk = (await Read(response, AdminJson.Default.LogChunk))!;
            await stdout.WriteAsync(chunk.Text);
            await stdout.FlushAsync();
            offset = chunk.Offset;
            if (follow) await Task.Delay(TimeSpan.FromMilliseconds(500));
        } while (follow);
        return ExitCodes.Ok;
    }

    private async Task<int> ScanAsync()
    {
        var scan = (await Send("api/scan-now", AdminJson.Default.ScanResult))!;
        await stdout.WriteLineAsync(Decisions.ScanLine(scan));
        return scan.Completed ? ExitCodes.Ok : ExitCodes.Error;
    }

    /// <summary>Healthy when the host is ready and its worker is; the container's HEALTHCHECK runs this.</summary>
    private async Task<int> HealthAsync()
    {
        foreach (var check in new[] { "health/ready", "health/worker" })
        {
            using var response = await http.GetAsync(check);
            if (response.IsSuccessStatusCode) continue;
            await stdout.WriteLineAsync($"unhealthy: {check}: {await response.Content.ReadAsStringAsync()}");
            return ExitCodes.Error;
        }
        await stdout.WriteLineAsync("healthy");
        return ExitCodes.Ok;
    }

    private async Task<int> TextAsync(string path)
    {
        using var response = await http.GetAsync(path);
        await Check(response);
        await stdout.WriteAsync(await response.Content.ReadAsStringAsync());
        return ExitCodes.Ok;
    }

    private async Task<int> PrintAsync<T>(Task<T?> request, Func<T, string> format)
    {
        var body = await request;
        var text = format(body!);
        if (text.Length > 0) await stdout.WriteLineAsync(text);
        return ExitCodes.Ok;
    }

    private async Task<T?> Get<T>(string path, JsonTypeInfo<T> type)
    {
        using var response = await http.GetAsync(path);
        return await Read(response, type);
    }

    private async Task<T?> Send<T>(string path, JsonTypeInfo<T> type)
    {
        using var response = await http.PostAsync(path, null);
        return await Read(response, type);
    }

    private static async Task<T?> Read<T>(HttpResponseMessage response, JsonTypeInfo<T> type)
    {
        await Check(response);
        return await response.Content.ReadFromJsonAsync(type);
    }

    /// <summary>401/403 are the host refusing a command; any other failure is an error with the host's own words.</summary>
    private static async Task Check(HttpResponseMessage response)
    {
        if (response.IsSuccessStatusCode) return;
        var body = await response.Content.ReadAsStringAsync();
        string? message = null;
        try { message = System.Text.Json.JsonSerializer.Deserialize(body, AdminJson.Default.ErrorBody)?.Error; }
        catch (System.Text.Json.JsonException) { }
        message ??= $"{(int)response.StatusCode} {response.ReasonPhrase}";
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden) throw new RefusedException(message);
        throw new HostErrorException(message);
    }

    private sealed class RefusedException(string message) : Exception(message);

    private sealed class HostErrorException(string message) : Exception(message);
}
