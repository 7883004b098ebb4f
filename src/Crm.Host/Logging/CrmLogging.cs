using Akka.Actor;
using Akka;
using Akka.Event;
using Akka.Hosting;
using Akka.Logger.Serilog;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace Crm.Host.Logging;

/// <summary>
/// SPEC §6: console and, for each program NAME, <c>NAME.log</c> (INFO and up) and <c>NAME_error.log</c> (WARNING and
/// up), each rolled at a size with a number of backups, in the seed's line format. A program's files hold its own
/// actors' lines and the host's (start, admin, cluster), never another program's.
/// </summary>
public static class CrmLogging
{
    public const string Template = "{Timestamp:yyyy-MM-dd HH:mm:ss} - {SourceContext} - {LevelName} - {Message:l}{NewLine}{Exception}";

    /// <param name="level">The level in force, crm.logging.level: <c>crmctl update</c> moves it.</param>
    /// <param name="programs">The host's programs: each has its own pair of files.</param>
    public static Logger Create(LoggingSettings settings, IReadOnlyList<string> programs, LogRing ring, LoggingLevelSwitch level)
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
            .WriteTo.Logger(files => ProgramFiles(files, settings, programs))
            .CreateLogger();
    }

    public static string LogFile(string program) => $"{program}.log";

    public static string ErrorLogFile(string program) => $"{program}_error.log";

    private static LoggerConfiguration ProgramFiles(LoggerConfiguration files, LoggingSettings settings, IReadOnlyList<string> programs)
    {
        foreach (var program in programs)
        {
            // Both files from the start, as supervisord makes them: an operator's tail -f finds the error log before
            // its first line (Serilog opens a file at its first event).
            foreach (var file in new[] { LogFile(program), ErrorLogFile(program) }) File.Open(Path.Combine(settings.Directory, file), FileMode.Append).Dispose();
            files.WriteTo.Logger(own => own
                .Filter.ByIncludingOnly(e => ProgramOf(e, programs) is not { } owner || owner == program)
                .WriteTo.File(Path.Combine(settings.Directory, LogFile(program)),
                    restrictedToMinimumLevel: LogEventLevel.Information, outputTemplate: Template,
                    fileSizeLimitBytes: settings.MaxBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.Backups + 1)
                .WriteTo.File(Path.Combine(settings.Directory, ErrorLogFile(program)),
                    restrictedToMinimumLevel: LogEventLevel.Warning, outputTemplate: Template,
                    fileSizeLimitBytes: settings.MaxBytes, rollOnFileSizeLimit: true, retainedFileCountLimit: settings.Backups + 1));
        }
        return files;
    }

    private const string ProgramsPath = "/user/" + RootSupervisor.ActorName + "/";

    /// <summary>
    /// The program an event comes from: one whose actors (under /user/supervisor/NAME) logged it; null for the
    /// host's own lines.
    /// </summary>
    public static string? ProgramOf(Serilog.Events.LogEvent e, IReadOnlyList<string> programs)
    {
        if (!e.Properties.TryGetValue("LogSource", out var source) || source is not ScalarValue { Value: string path }) return null;
        var at = path.IndexOf(ProgramsPath, StringComparison.Ordinal);
        if (at < 0) return null;
        var child = path[(at + ProgramsPath.Length)..].Split('/')[0];
        return programs.FirstOrDefault(p => child == p);
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
    /// <remarks>During a shutdown Akka's own console logger may print events as Serilog's goes (in Akka's format, from
    /// the DEBUG passed here): from the first phase on, Akka passes only what <paramref name="level"/> (crm.logging.level)
    /// lets through, and its console logger only WARNING and up.</remarks>
    public static AkkaConfigurationBuilder WithCrmLogging(this AkkaConfigurationBuilder builder, LoggingLevelSwitch? level = null) =>
        builder.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = LogLevel.DebugLevel;
                loggers.ClearLoggers();
                loggers.AddLogger<SerilogLogger>();
            })
            .AddHocon("akka.stdout-loglevel = WARNING", HoconAddMode.Prepend)
            .AddStartup((system, _) => CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "quiet-akka-debug",
                () =>
                {
                    system.EventStream.SetLogLevel((level?.MinimumLevel ?? LogEventLevel.Information) switch
                    {
                        LogEventLevel.Verbose or LogEventLevel.Debug => LogLevel.DebugLevel,
                        LogEventLevel.Information => LogLevel.InfoLevel,
                        LogEventLevel.Warning => LogLevel.WarningLevel,
                        _ => LogLevel.ErrorLevel,
                    });
                    return Task.FromResult(Done.Instance);
                }));

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
