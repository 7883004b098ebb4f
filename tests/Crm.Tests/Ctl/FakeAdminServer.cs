using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Crm.Tests.Ctl;

/// <summary>
/// A tiny stand-in for the host's admin listener: raw HTTP/1.1 on a loopback port of its own (port 0, so no race
/// for a free one), one request per connection, answered by <c>answer</c>. Records what crmctl sent.
/// </summary>
internal sealed class FakeAdminServer : IAsyncDisposable
{
    public sealed record Request(string Method, string Target, string? Authorization);

    public sealed record Response(int Status, string Body, string ContentType = "application/json")
    {
        public static Response Json(string body) => new(200, body);
        public static Response Text(string body) => new(200, body, "text/plain");
    }

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<Request, Response> _answer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public FakeAdminServer(Func<Request, Response> answer)
    {
        _answer = answer;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public ConcurrentQueue<Request> Requests { get; } = new();

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    public IReadOnlyDictionary<string, string?> Environment(string? token = null) =>
        new Dictionary<string, string?> { ["CRM_ADMIN_URL"] = Url, ["CRM_ADMIN_TOKEN"] = token };

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = Task.Run(() => ServeAsync(client));
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { }
        // Stopped between two accepts: the listener says it is not listening before it looks at the token.
        catch (InvalidOperationException) when (_stop.IsCancellationRequested) { }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var head = await ReadHeadAsync(stream);
        var lines = head.Split("\r\n");
        var requestLine = lines[0].Split(' ');
        var headers = lines.Skip(1).Where(l => l.Contains(':'))
            .ToDictionary(l => l[..l.IndexOf(':')].Trim(), l => l[(l.IndexOf(':') + 1)..].Trim(), StringComparer.OrdinalIgnoreCase);
        if (headers.TryGetValue("Content-Length", out var length) && int.Parse(length) is > 0 and var bodyLength)
            await stream.ReadExactlyAsync(new byte[bodyLength]);

        var request = new Request(requestLine[0], requestLine[1], headers.GetValueOrDefault("Authorization"));
        Requests.Enqueue(request);
        Response response;
        try { response = _answer(request); }
        catch (Exception e) { response = new Response(500, $$"""{"error":"fake server: {{e.Message}}"}"""); }

        var body = Encoding.UTF8.GetBytes(response.Body);
        var reason = response.Status switch
        {
            200 => "OK", 400 => "Bad Request", 401 => "Unauthorized", 403 => "Forbidden", 404 => "Not Found",
            503 => "Service Unavailable", _ => "Internal Server Error",
        };
        var header = $"HTTP/1.1 {response.Status} {reason}\r\nContent-Type: {response.ContentType}; charset=utf-8\r\n" +
                     $"Content-Length: {body.Length}\r\nConnection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(header));
        await stream.WriteAsync(body);
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0) break;
            head.Add(one[0]);
        }
        return Encoding.ASCII.GetString(head.ToArray());
    }

    /// <summary>A loopback port nothing listens on: connecting to it is refused at once.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
