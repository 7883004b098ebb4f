using System.Collections.Concurrent;
using System.IO.Compression;
using System.Net;
using Crm.Actors.Supervision;
using Crm.Host.Alerting;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>Alerts through the real Sentry SDK, to a local HTTP listener standing in for the Sentry server.</summary>
[Trait("Category", "Integration")]
public class SentryAlertTests
{
    [Fact]
    public async Task Should_send_a_FATAL_program_to_Sentry_tagged_with_program_and_state()
    {
        using var sentry = new FakeSentry();
        await using var db = await PostgresServer.CreateDatabaseAsync(migrated: false);
        var (config, _) = Ports.ServiceConfig("crm.programs.reminder_worker { startsecs = 300ms, startretries = 0 }");

        using var host = HostProcess.Start(["--config", config],
            new Dictionary<string, string> { ["DATABASE_URL"] = db.Url, ["SENTRY_DSN"] = sentry.Dsn });

        await Eventually.HoldsAsync(() => Task.FromResult(sentry.Bodies.Any(b => b.Contains("\"state\":\"FATAL\""))),
            TimeSpan.FromSeconds(60), "a FATAL event reaches Sentry", () => host.Output);
        var fatal = sentry.Bodies.First(b => b.Contains("\"state\":\"FATAL\""));
        Assert.Contains("\"program\":\"reminder_worker\"", fatal);
        Assert.Contains("FATAL: Exited too quickly", fatal); // the message; JSON escapes its "->"
        Assert.DoesNotContain("password", fatal, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Should_start_no_SDK_and_alert_only_on_failures_without_a_DSN()
    {
        Assert.Null(SentryAlerts.Start(null, "test"));
        Assert.Null(SentryAlerts.Start("", "test"));
        Assert.Equal(Sentry.SentryLevel.Fatal, SentryAlerts.LevelOf(ProgramState.Fatal));
        Assert.Equal(Sentry.SentryLevel.Error, SentryAlerts.LevelOf(ProgramState.Backoff));
        Assert.Null(SentryAlerts.LevelOf(ProgramState.Running));
    }

    /// <summary>Accepts what the SDK posts (envelopes, gzip or not) and keeps the bodies as text.</summary>
    private sealed class FakeSentry : IDisposable
    {
        private readonly HttpListener _listener = new();
        public ConcurrentQueue<string> Bodies { get; } = new();
        public string Dsn { get; }

        public FakeSentry()
        {
            var port = Ports.Free();
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            Dsn = $"http://0123456789abcdef0123456789abcdef@127.0.0.1:{port}/42";
            _ = Task.Run(ServeAsync);
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception) { return; }
                Stream body = context.Request.InputStream;
                if (context.Request.Headers["Content-Encoding"] == "gzip") body = new GZipStream(body, CompressionMode.Decompress);
                Bodies.Enqueue(await new StreamReader(body).ReadToEndAsync());
                context.Response.StatusCode = 200;
                await context.Response.OutputStream.WriteAsync("{}"u8.ToArray());
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
