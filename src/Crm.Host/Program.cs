using System.Collections;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Host;
using Crm.Host.Alerting;
using Crm.Host.Admin;
using Crm.Host.Logging;
using Crm.Host.Programs;
using Crm.Host.Programs.Processes;
using Crm.Host.Programs.ReminderWorker;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

// Exit codes (SPEC §2): 0 done, 1 failure at run time, 2 invalid configuration or arguments.
CommandLine line;
CrmSettings settings;
DatabaseTarget target;
IReminderStore store;
HostedPrograms programs;
SupervisordPrograms supervisord;
IReadOnlyList<ProgramDefinition> definitions;
ConfigurationState config;
IDisposable? sentry;
LogRing ring;
var level = new Serilog.Core.LoggingLevelSwitch();
var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
    .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
try
{
    line = CommandLine.Parse(args);
    if (line.Help)
    {
        Console.Out.Write(CommandLine.HelpText);
        return 0;
    }
    settings = CrmSettings.LoadFile(line.ConfigPath, environment);
    target = DatabaseTarget.From(settings.Database, line.Demo);
    // The cluster's split-brain resolver keeps the side that holds a lease in PostgreSQL (ClusterHosting).
    if (settings.Cluster.Enabled && !target.IsPostgres && line is { Once: false, Migrate: false })
        throw new ConfigurationException("crm.cluster.enabled", "on",
            line.Demo ? "not with --demo (the embedded database): the cluster's downing needs PostgreSQL" : "needs PostgreSQL (DATABASE_URL or crm.database.url): the cluster's downing keeps the side that holds a lease there");
    // What the host will write to and listen on is tried now, so that a bad setting is one line, not a crash.
    Folders.EnsureWritable(settings.Logging.DirectoryKey, settings.Logging.Directory);
    if (!target.IsPostgres) Folders.EnsureWritable("crm.database.sqlite-path", settings.Database.SqlitePath, Path.GetDirectoryName(target.SqlitePath)!);
    if (line is { Once: false, Migrate: false }) AdminListenerCheck.EnsureAvailable(settings.Admin);
    ring = new LogRing(settings.Logging.KeptInMemory);
    store = target.CreateStore(ReminderSettings.PushChannelOf(settings.Hocon)); // connects at its first use, not here
    // The host's programs, one line each: everything keyed by program (supervision, logs, metrics, health, admin
    // routes, crmctl's verbs, the dashboard's panels, --once) follows this list.
    programs = new HostedPrograms().Add(new ReminderWorkerProgram(store));
    // OS process programs (SPEC §11): the configuration's sections with a command, then a supervisord.conf's.
    supervisord = SupervisordPrograms.Add(programs, settings, line.SupervisordConf);
    // crmctl update applies the logging settings that can change live; the rest waits for a restart.
    config = new ConfigurationState(line, settings, environment, programs.Catalog, logging =>
    {
        level.MinimumLevel = CrmLogging.ToSerilog(logging.Level);
        ring.Resize(logging.KeptInMemory);
    }, supervisord.SupervisionOf);
    // Each program reads and checks its own settings now: a bad one is a bad setting (exit 2), like the host's.
    definitions = config.Programs(settings);
    // Unhandled exceptions reach Sentry too: the SDK hooks them once initialised.
    var dsn = environment.GetValueOrDefault("SENTRY_DSN");
    try { sentry = SentryAlerts.Start(dsn, "crm-actors@" + typeof(CommandLine).Assembly.GetName().Version); }
    catch (Exception e) when (e is UriFormatException or ArgumentException)
    {
        throw new ConfigurationException("SENTRY_DSN", dsn, "expected a DSN such as https://KEY@o0.ingest.sentry.io/PROJECT");
    }
    // A process program writes its own output files; the host's log has a pair of files for the others.
    Log.Logger = CrmLogging.Create(settings.Logging, [.. programs.All.Where(p => p.OutputLog("stdout") is null).Select(p => p.Name)], ring, level);
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"Crm.Host: {e.Message}");
    return 2;
}

using var sentryHandle = sentry;
var log = Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Crm.Host");
foreach (var note in supervisord.Notes) log.Information("{Note}", note); // said once, at start
var context = target.IsPostgres
    ? new StartupContext(DatabaseUrl.Describe(new Npgsql.NpgsqlConnectionStringBuilder(target.ConnectionString)), settings.Database.PostgresUrlKey, settings.Admin.Bind)
    : new StartupContext("sqlite:" + target.SqlitePath, "crm.database.sqlite-path", settings.Admin.Bind);
try
{
    await using var storeInUse = store;
    if (!target.IsPostgres)
    {
        // The embedded database is the service's own: it creates its tables itself.
        await store.MigrateAsync();
        if (line.Demo)
        {
            await SqliteDemoSeed.SeedAsync(target.SqlitePath, TimeProvider.System);
            log.Information("Demo: sample interactions added to {Database}", store.Description);
        }
    }
    if (line.Migrate)
    {
        await store.MigrateAsync();
        log.Information("Migrated {Database}", store.Description);
        return 0;
    }

    if (line.Once) return await RunOnceAsync(definitions);
    return await RunServiceAsync(store);
}
catch (Exception e)
{
    // One line an operator can act on; a stack trace only for what nobody foresaw.
    var failure = StartupFailure.Classify(e, context);
    if (failure.ExitCode == 2) log.Error("{Message}", failure.Line);
    else if (failure.Expected) log.Fatal("{Message}", failure.Line);
    else log.Fatal(e, "{Message}", failure.Line);
    if (sentry is not null && failure.ExitCode == 1) Sentry.SentrySdk.CaptureException(e, scope => scope.SetTag("program", "Crm.Host"));
    return failure.ExitCode;
}
finally
{
    await Log.CloseAndFlushAsync();
}

// The actor system, the same for the service and for --once (which never joins a cluster: a batch run).
void ConfigureAkka(IServiceCollection services, HostedPrograms hosted, IReadOnlyList<ProgramDefinition> programs, bool durable, IProgramReloader? reloader = null) =>
    services.AddAkka(ClusterSettings.SystemName, akka =>
    {
        var clustered = durable && settings.Cluster.Enabled;
        akka.AddHocon(settings.Hocon, HoconAddMode.Prepend)
            .WithCrmLogging(level)
            .WithCrmCluster(clustered ? settings.Cluster : ClusterSettings.Off,
                target.IsPostgres ? new Npgsql.NpgsqlConnectionStringBuilder(target.ConnectionString) : null)
            .WithMessageVerification()
            .WithRootSupervisor(programs, durable, reloader);
        hosted.AddActors(akka); // the programs' own actors beside the supervised ones
        if (sentry is not null) akka.WithSentryAlerts();
        if (durable && supervisord.RunsProcesses) akka.WithOrphanReaping(); // PID 1 in a container, or their subreaper
        if (durable) akka.WithCrmJournal(target);
    });

void ConfigureShutdown(IServiceCollection services, IReadOnlyList<ProgramDefinition> programs) =>
    services.Configure<HostOptions>(o => o.ShutdownTimeout = CrmHostingExtensions.ShutdownTimeout(programs) + TimeSpan.FromSeconds(10));

// --once: a batch run of the programs that have one (the others are not started). No listener, and no trace in
// the supervisor's journal (it would compete with a live host's). The worst exit code wins.
async Task<int> RunOnceAsync(IReadOnlyList<ProgramDefinition> all)
{
    var once = programs.All.Where(p => p.Once is not null).ToList();
    var definitions = all.Where(d => once.Any(p => p.Name == d.Name)).ToList();
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    builder.Services.AddSerilog();
    builder.Services.AddSingleton(config);
    builder.Services.AddSingleton(store);
    ConfigureShutdown(builder.Services, definitions);
    ConfigureAkka(builder.Services, programs, definitions, durable: false);
    foreach (var program in once) program.AddServices(builder.Services);
    using var host = builder.Build();
    // Fail fast, before any actor starts: the database answers and carries what the programs need.
    foreach (var database in host.Services.GetServices<DatabaseCheck>()) await database.VerifyAsync(CancellationToken.None);
    await host.StartAsync();
    var exitCode = 0;
    foreach (var program in once) exitCode = Math.Max(exitCode, await program.Once!(host.Services, CancellationToken.None));
    await host.StopAsync();
    return exitCode;
}

// The service: programs under supervision, the admin listener, health and metrics.
// 0 once stopped (SIGTERM), 1 when the cluster downed this node: its container engine starts it again.
async Task<int> RunServiceAsync(IReminderStore store)
{
    // A restarted node writes what came due while it was down once its journal has told it the operator's intent:
    // the journal's first connection is readied beside the listener's set-up rather than after it (SPEC §8).
    _ = target.WarmUpJournalAsync();
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
    builder.Host.UseSerilog();
    builder.WebHost.UseCrmAdminListener(settings.Admin);
    builder.Services.AddSingleton(config);
    builder.Services.AddSingleton(ring);
    builder.Services.AddSingleton(store);
    ConfigureShutdown(builder.Services, definitions);
    ConfigureAkka(builder.Services, programs, definitions, durable: true, config);
    builder.Services.AddCrmAdmin(programs);

    await using var app = builder.Build();
    app.MapCrmAdmin(settings, programs);
    foreach (var warning in AdminAuth.StartupWarnings(settings.Admin)) log.Warning("{Warning}", warning);
    log.Information("Admin listener on {Scheme}://{Host}:{Port} (crmctl, /health, /metrics)", settings.Admin.Scheme, settings.Admin.Host, settings.Admin.Port);
    await app.StartAsync();
    var system = app.Services.GetRequiredService<ActorSystem>();
    await app.WaitForShutdownAsync();
    if (CoordinatedShutdown.Get(system).ShutdownReason is CoordinatedShutdown.ClusterDowningReason)
    {
        log.Error("This node was downed by the cluster (docs/downing.md): it exits, to be started again as a new member");
        return 1;
    }
    return 0;
}
