using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Storage;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Crm.Host.Logging;

/// <summary>
/// SPEC §6: console, <c>reminder_worker.log</c> (INFO and up) and <c>reminder_worker_error.log</c> (WARNING and
/// up), each rolled at a size with a number of backups, in the seed's line format.
/// </summary>
public static class CrmLogging
{
    public const string Template = "{Timestamp:yyyy-MM-dd HH:mm:ss} - {SourceContext} - {LevelName} - {Message:l}{NewLine}{Exception}";

    /// <param name="level">The level in force, crm.logging.level: <c>crmctl update</c> moves it.</param>
    public static Logger Create(LoggingSettings settings, LogRing ring, LoggingLevelSwitch level)
    {
        Directory.CreateDirectory(settings.Directory);
        level.MinimumLevel = ToSerilog(settings.Level);
        return new LoggerConfiguration()
            .MinimumLevel.ControlledBy(level)
            // Npgsql and the host are chatty at Information about things an operator does not act on.
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .MinimumLevel.Override("Npgsql", LogEventLevel.Warning)
            // The health check service logs every failing probe as an error: a stopped worker is an answer
            // (/health/worker says 503), not an error, and would flood the error log every probe.
            .MinimumLevel.Override("Microsoft.Extensions.Diagnostics.HealthChecks", LogEventLevel.Fatal)
            .Filter.ByExcluding(IsRepeatedSupervisionReport)
            .Enrich.With<PythonLevelName>()
            .WriteTo.Console(outputTemplate: Template, standardErrorFromLevel: LogEventLevel.Warning)
            .WriteTo.Sink(ring)
            .WriteTo.File(Path.Combine(settings.Directory, "reminder_worker.log"),
                restrictedToMinimumLevel: LogEventLevel.Information, outputTemplate: Template,
                fileSizeLimitBytes: settings.MaxBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.Backups + 1)
            .WriteTo.File(Path.Combine(settings.Directory, "reminder_worker_error.log"),
                restrictedToMinimumLevel: LogEventLevel.Warning, outputTemplate: Template,
                fileSizeLimitBytes: settings.MaxBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.Backups + 1)
            .CreateLogger();
    }

    /// <summary>
    /// Akka's supervision strategies log each child failure at ERROR with its stack trace. For an expected database
    /// failure (an outage, a refusal, a database not ready) the service has already said it in one line, with
    /// the action taken; the stack trace adds nothing but noise: it is dropped. A bug still shows in full.
    /// </summary>
    public static bool IsRepeatedSupervisionReport(Serilog.Events.LogEvent e) =>
        e.Exception is { } error && StoreErrors.IsExpected(error)
        && e.Properties.TryGetValue(Serilog.Core.Constants.SourceContextPropertyName, out var source)
        && source is ScalarValue { Value: "Akka.Actor.OneForOneStrategy" or "Akka.Actor.AllForOneStrategy" };

    /// <summary>
    /// Routes Akka's logging to Serilog. Akka passes everything from DEBUG up: its loggers decide once, when an
    /// actor creates one, and crm.logging.level may move later (<c>crmctl update</c>); Serilog's level switch,
    /// set to crm.logging.level, decides what is written.
    /// </summary>
    public static AkkaConfigurationBuilder WithCrmLogging(this AkkaConfigurationBuilder builder) =>
        builder.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = LogLevel.DebugLevel;
            loggers.ClearLoggers();
            loggers.AddLogger<SerilogLogger>();
        });

    public static LogEventLevel ToSerilog(string level) => level switch
    {
        "DEBUG" => LogEventLevel.Debug,
        "INFO" => LogEventLevel.Information,
        "WARNING" => LogEventLevel.Warning,
        _ => LogEventLevel.Error,
    };

    /// <summary>Level names as Python's logging writes them, which the seed's operators read and grep for.</summary>
    private sealed class PythonLevelName : ILogEventEnricher
    {
        public void Enrich(Serilog.Events.LogEvent logEvent, ILogEventPropertyFactory factory) =>
            logEvent.AddPropertyIfAbsent(factory.CreateProperty("LevelName", logEvent.Level switch
            {
                LogEventLevel.Verbose or LogEventLevel.Debug => "DEBUG",
                LogEventLevel.Information => "INFO",
                LogEventLevel.Warning => "WARNING",
                LogEventLevel.Error => "ERROR",
                _ => "CRITICAL",
            }));
    }
}
