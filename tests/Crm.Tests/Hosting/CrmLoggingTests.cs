using Crm.Actors.Reminders;
using Crm.Host.Logging;
using Serilog.Events;
using Serilog.Parsing;

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
}
