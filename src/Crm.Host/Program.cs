using System.Collections;
using System.Net;
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
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

// Exit codes (SPEC §2): 0 done, 1 failure at run time, 2 invalid configuration or arguments.
CommandLine line;
CrmSettings settings;
DatabaseTarget target;
IReminderStore store;
ProgramCatalog programs;
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
    store = target.CreateStore(settings.Reminders.PushChannel); // connects at its first use, not here
    // The host's programs, one line each: everything keyed by program (logs, metrics, admin routes) follows this list.
    programs = new ProgramCatalog().AddReminderWorker(store);
    // Unhandled exceptions reach Sentry too: the SDK hooks them once initialised.
    var dsn = environment.GetValueOrDefault("SENTRY_DSN");
    try { sentry = SentryAlerts.Start(dsn, "crm-actors@" + typeof(CommandLine).Assembly.GetName().Version); }
    catch (Exception e) when (e is UriFormatException or ArgumentException)
    {
        throw new ConfigurationException("SENTRY_DSN", dsn, "expected a DSN such as https://KEY@o0.ingest.sentry.io/PROJECT");
    }
    ring = new LogRing(settings.Logging.KeptInMemory);
    Log.Logger = CrmLogging.Create(settings.Logging, programs.Names, ring, level);
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"Crm.Host: {e.Message}");
    return 2;
}

using var sentryHandle = sentry;
var log = Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Crm.Host");
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

    // crmctl update applies the logging settings that can change live; the rest waits for a restart.
    var config = new ConfigurationState(line, settings, environment, programs, logging =>
    {
        level.MinimumLevel = CrmLogging.ToSerilog(logging.Level);
        ring.Resize(logging.KeptInMemory);
    });
    var definitions = config.Programs(settings);
    if (line.Once)
    {
        await store.VerifyAsync(settings.Reminders.Template); // fail fast, before any actor starts
        return await RunOnceAsync(definitions);
    }
    return await RunServiceAsync(config, store, definitions);
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
void ConfigureAkka(IServiceCollection services, IReadOnlyList<ProgramDefinition> programs, bool durable, IProgramReloader? reloader = null) =>
    services.AddAkka(ClusterSettings.SystemName, akka =>
    {
        var clustered = durable && settings.Cluster.Enabled;
        akka.AddHocon(settings.Hocon, HoconAddMode.Prepend)
            .WithCrmLogging(level)
            .WithCrmCluster(clustered ? settings.Cluster : ClusterSettings.Off,
                target.IsPostgres ? new Npgsql.NpgsqlConnectionStringBuilder(target.ConnectionString) : null)
            .WithMessageVerification()
            .WithRootSupervisor(programs, durable, reloader)
            .WithScanHistory(); // the scans' facts, for /api/scans, the dashboard and /health/worker
        if (sentry is not null) akka.WithSentryAlerts();
        if (durable) akka.WithCrmJournal(target);
    });

void ConfigureShutdown(IServiceCollection services, IReadOnlyList<ProgramDefinition> programs) =>
    services.Configure<HostOptions>(o => o.ShutdownTimeout = CrmHostingExtensions.ShutdownTimeout(programs) + TimeSpan.FromSeconds(10));

// --once: a batch run. No listener, and no trace in the supervisor's journal (it would compete with a live host's).
async Task<int> RunOnceAsync(IReadOnlyList<ProgramDefinition> programs)
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    builder.Services.AddSerilog();
    ConfigureShutdown(builder.Services, programs);
    ConfigureAkka(builder.Services, programs, durable: false);
    using var host = builder.Build();
    await host.StartAsync();
    var root = await host.Services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync();
    var answer = await OnceRun.ScanAsync(host.Services.GetRequiredService<ActorSystem>(), root, ReminderWorkerActor.ProgramName, settings.OnceTimeout);
    await host.StopAsync();
    if (answer is ReminderScanMessages.ScanCompleted done)
    {
        var outcome = done.Report.Outcome;
        log.Information("Once: {Written} notifications written, {Skipped} rows skipped, {NotDue} no longer due, {Held} held by another transaction",
            outcome.Written, outcome.Skipped, outcome.NotDue, outcome.Held);
        if (outcome.Skipped == 0) return 0;
        // A cron job must not look green while reminders were lost to bad rows.
        log.Error("Once: {Skipped} due reminders were not written: their rows were refused (see crm_actors.skipped_occurrences)", outcome.Skipped);
        return 1;
    }
    log.Error("Once: the scan did not complete: {Answer}", answer);
    return 1;
}

// The service: programs under supervision, the admin listener, health and metrics.
// 0 once stopped (SIGTERM), 1 when the cluster downed this node: its container engine starts it again.
async Task<int> RunServiceAsync(ConfigurationState config, IReminderStore store, IReadOnlyList<ProgramDefinition> programs)
{
    var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
    builder.Host.UseSerilog();
    builder.WebHost.UseKestrel(kestrel => kestrel.Listen(
        settings.Admin.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(settings.Admin.Host), settings.Admin.Port));
    builder.Services.AddSingleton(config);
    builder.Services.AddSingleton(ring);
    builder.Services.AddSingleton(store);
    ConfigureShutdown(builder.Services, programs);
    ConfigureAkka(builder.Services, programs, durable: true, config);
    builder.Services.AddHealthChecks()
        .AddCheck("live", () => Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy("the process answers"), tags: ["live"])
        .AddCheck<ReadyCheck>("ready", tags: ["ready"])
        .AddCheck<WorkerCheck>("worker", tags: ["worker"])
        .AddProgramChecks(config.Catalog.Names);

    await using var app = builder.Build();
    foreach (var tag in new[] { "live", "ready", "worker" })
        app.MapHealthChecks($"/health/{tag}", new HealthCheckOptions { Predicate = c => c.Tags.Contains(tag), ResponseWriter = HealthResponse.WriteAsync });
    foreach (var program in config.Catalog.Names)
        app.MapHealthChecks($"/health/programs/{program}",
            new HealthCheckOptions { Predicate = c => c.Tags.Contains(ProgramCheck.Tag(program)), ResponseWriter = HealthResponse.WriteAsync });
    app.MapCrmMetrics("/metrics");
    app.MapAdminApi(settings);
    app.MapClusterApi(settings);
    app.MapDashboardApi();
    app.MapDashboard(settings);
    if (AdminAuth.StartupWarning(settings.Admin, Environment.GetEnvironmentVariable("CRM_ADMIN_TOKEN")) is { } warning)
        log.Warning("{Warning}", warning);
    log.Information("Admin listener on http://{Host}:{Port} (crmctl, /health, /metrics)", settings.Admin.Host, settings.Admin.Port);
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
