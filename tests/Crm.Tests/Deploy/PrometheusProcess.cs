using System.ComponentModel;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Deploy;

/// <summary>
/// Debian's <c>prometheus</c> server as a child process on a free loopback port, its storage in a temporary folder
/// removed at disposal; queried through its HTTP API (/api/v1).
/// </summary>
internal sealed class PrometheusProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;
    private readonly StringBuilder _output = new();

    public HttpClient Http { get; }

    private PrometheusProcess(Process process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(30) };
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>Starts the server with <paramref name="configuration"/> (prometheus.yml's text), once it answers /-/ready.</summary>
    public static async Task<PrometheusProcess> StartAsync(string configuration)
    {
        var directory = Directory.CreateTempSubdirectory("crm-prometheus-").FullName;
        var config = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(config, configuration);
        var port = Ports.Free();
        var info = new ProcessStartInfo("prometheus")
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            ArgumentList =
            {
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                $"--web.listen-address=127.0.0.1:{port}",
            },
        };
        Process process;
        try { process = Process.Start(info)!; }
        catch (Win32Exception e)
        {
            Directory.Delete(directory, recursive: true);
            throw new InvalidOperationException("prometheus is not installed: run ./test.sh, which installs Debian's prometheus package", e);
        }
        var server = new PrometheusProcess(process, directory, port);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await Eventually.HoldsAsync(async () =>
            {
                if (process.HasExited) throw new InvalidOperationException($"prometheus exited {process.ExitCode}:\n{server.Output}");
                try { return (await server.Http.GetAsync("/-/ready")).IsSuccessStatusCode; }
                catch (HttpRequestException) { return false; }
            }, TimeSpan.FromSeconds(60), "prometheus is ready", () => server.Output);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
        return server;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    /// <summary>GET /api/v1/<paramref name="path"/>: the answer's "data", after its "status" was "success".</summary>
    public async Task<JsonElement> ApiAsync(string path)
    {
        using var response = await Http.GetAsync("/api/v1/" + path);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var status = body.GetProperty("status").GetString();
        if (status != "success")
            throw new PrometheusApiException($"{path}: {status}: {body.GetProperty("errorType").GetString()}: {body.GetProperty("error").GetString()}");
        return body.GetProperty("data").Clone();
    }

    /// <summary>An instant query: the result's samples (an instant vector; a scalar counts as one sample).</summary>
    public async Task<IReadOnlyList<JsonElement>> QueryAsync(string expr)
    {
        var data = await ApiAsync("query?query=" + Uri.EscapeDataString(expr));
        var result = data.GetProperty("result");
        return data.GetProperty("resultType").GetString() switch
        {
            "vector" or "matrix" => result.EnumerateArray().ToList(),
            _ => [result],
        };
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}

internal sealed class PrometheusApiException(string message) : Exception(message);
