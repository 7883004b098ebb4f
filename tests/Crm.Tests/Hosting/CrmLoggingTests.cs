using Akka.Actor;
using Akka.Event;
using Crm.Actors.Reminders;
using Crm.Actors.Supervision;
using Crm.Host.Logging;
using Crm.Tests.Support;
using Serilog.Events;
using Serilog.Parsing;
using LogEvent = Serilog.Events.LogEvent;

namespace Crm.Tests.Hosting;

public class CrmLoggingTests
{
    private static LogEvent Event(string source, Exception error) => new(
        DateTimeOffset.UtcNow, LogEventLevel.Error, error, new MessageTemplateParser().Parse(error.Message),
        [new LogEventProperty("SourceContext", new ScalarValue(source))]);

    private static readonly Exception Outage = new ReminderPipelineException("scanning for due reminders failed",
        new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432", new System.Net.Sockets.SocketException(111)));

    [Fact]
    public void Should_drop_Akka_s_stack_trace_for_an_expected_database_failure()
    {
        Assert.True(CrmLogging.IsRepeatedSupervisionReport(Event("Akka.Actor.OneForOneStrategy", Outage)));
    }

    [Fact]
    public void Should_keep_Akka_s_report_of_a_bug()
    {
        Assert.False(CrmLogging.IsRepeatedSupervisionReport(Event("Akka.Actor.OneForOneStrategy", new NullReferenceException())));
    }

    [Fact]
    public void Should_keep_the_service_s_own_lines()
    {
        Assert.False(CrmLogging.IsRepeatedSupervisionReport(Event("Crm.Actors.Supervision.ProgramSupervisorActor", Outage)));
    }

    [Fact]
    public void Should_write_each_programs_lines_to_its_own_files_and_the_hosts_lines_to_every_program()
    {
        var directory = Directory.CreateTempSubdirectory("crm-logs-").FullName;
        var settings = new Crm.Actors.Hosting.LoggingSettings(directory, 1_000_000, 1, "INFO", 10);
        string[] programs = ["reminder_worker", "crash_on_command"];
        using (var logger = CrmLogging.Create(settings, programs, new LogRing(10), new Serilog.Core.LoggingLevelSwitch()))
        {
            void Write(LogEventLevel level, string text, string? source) => logger.Write(new LogEvent(DateTimeOffset.UtcNow, level, null,
                new MessageTemplateParser().Parse(text), source is null ? [] : [new LogEventProperty("LogSource", new ScalarValue(source))]));
            Write(LogEventLevel.Information, "scan done", "akka://crm-actors/user/supervisor/reminder_worker/worker/scan-supervisor/scan");
            Write(LogEventLevel.Warning, "crashed", "akka://crm-actors/user/supervisor/crash_on_command");
            Write(LogEventLevel.Information, "host started", null);
            Write(LogEventLevel.Information, "root", "akka://crm-actors/user/supervisor");
        }

        string Lines(string file) => File.ReadAllText(Path.Combine(directory, file));
        Assert.Contains("scan done", Lines("reminder_worker.log"));
        Assert.DoesNotContain("crashed", Lines("reminder_worker.log"));
        Assert.Contains("crashed", Lines("crash_on_command.log"));
        Assert.Contains("crashed", Lines("crash_on_command_error.log"));
        Assert.DoesNotContain("scan done", Lines("crash_on_command.log"));
        // Both files from the start, as supervisord's: no warning of its own, none of the other's, an empty error log.
        Assert.Equal("", Lines("reminder_worker_error.log"));
        Assert.All(new[] { "reminder_worker.log", "crash_on_command.log" }, file =>
        {
            Assert.Contains("host started", Lines(file));
            Assert.Contains("root", Lines(file));
        });
    }

    /// <summary>Logs one line from where a program's actors live: /user/supervisor/NAME/worker.</summary>
    private sealed class ProgramTree : ReceiveActor
    {
        private sealed class Talker : ReceiveActor
        {
            public Talker(string line)
            {
                Context.GetLogger().Warning("{0}", line);
                ReceiveAny(_ => { });
            }
        }

        public ProgramTree(string program, string line)
        {
            Context.ActorOf(Props.Create(() => new Talker(line)), program).Tell("create");
            ReceiveAny(_ => { });
        }
    }

    [Fact]
    public async Task Should_route_a_real_actors_line_by_its_Akka_log_source_to_its_programs_files_only()
    {
        var directory = Directory.CreateTempSubdirectory("crm-logs-").FullName;
        var settings = new Crm.Actors.Hosting.LoggingSettings(directory, 1_000_000, 1, "INFO", 10);
        var previous = Serilog.Log.Logger;
        using var logger = CrmLogging.Create(settings, ["alpha", "beta"], new LogRing(10), new Serilog.Core.LoggingLevelSwitch());
        // Akka.Logger.Serilog writes to the global logger, as the host's does.
        Serilog.Log.Logger = logger;
        try
        {
            var system = await AkkaHosts.StartAsync(akka => akka.WithCrmLogging());
            system.ActorOf(Props.Create(() => new ProgramTree("alpha", "a line of alpha's")), RootSupervisor.ActorName);
            var alpha = Path.Combine(directory, "alpha.log");
            await Eventually.HoldsAsync(() => Task.FromResult(File.Exists(alpha) && ReadShared(alpha).Contains("a line of alpha's")),
                TimeSpan.FromSeconds(15), "alpha's line in alpha.log");
            await system.Terminate();
        }
        finally
        {
            Serilog.Log.Logger = previous;
        }
        Assert.Contains("a line of alpha's", ReadShared(Path.Combine(directory, "alpha_error.log")));
        Assert.DoesNotContain("a line of alpha's", File.Exists(Path.Combine(directory, "beta.log")) ? ReadShared(Path.Combine(directory, "beta.log")) : "");
    }

    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return new StreamReader(stream).ReadToEnd();
    }
}
