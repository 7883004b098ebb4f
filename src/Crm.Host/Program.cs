using System.Collections;
using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Host;
using Crm.Host.Logging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;

// Exit codes (SPEC §2): 0 done, 1 failure at run time, 2 invalid configuration or arguments.
CommandLine line;
CrmSettings settings;
DatabaseTarget target;
try
{
    line = CommandLine.Parse(args);
    var environment = Environment.GetEnvironmentVariables().Cast<DictionaryEntry>()
        .ToDictionary(e => (string)e.Key, e => (string?)e.Value);
    settings = CrmSettings.Load(line.ConfigPath is { } path ? File.ReadAllText(path) : null, environment);
    target = DatabaseTarget.From(settings.Database, line.Demo);
}
catch (ConfigurationException e)
{
    Console.Error.WriteLine($"Crm.Host: {e.Message}");
    return 2;
}

Log.Logger = CrmLogging.Create(settings.Logging);
var log = Log.ForContext(Serilog.Core.Constants.SourceContextPropertyName, "Crm.Host");
try
{
    await using var store = target.CreateStore();
    if (store is SqliteReminderStore sqlite)
    {
        // The embedded database is the service's own: it creates its tables itself.
        await sqlite.MigrateAsync();
        if (line.Demo)
        {
            await sqlite.SeedDemoAsync();
            log.Information("Demo: sample interactions added to {Database}", store.Description);
        }
    }
    if (line.Migrate)
    {
        await store.MigrateAsync();
        log.Information("Migrated {Database}", store.Description);
        return 0;
    }
    if (line.Once)
        await store.VerifyAsync(settings.Reminders.Template); // fail fast, before any actor starts

    var reminders = line.Demo ? settings.Reminders with { Interval = settings.DemoInterval } : settings.Reminders;
    ProgramDefinition[] programs =
        [ReminderWorkerActor.Program(store, reminders, settings.Programs[ReminderWorkerActor.ProgramName], periodic: !line.Once)];
    // A batch run leaves no trace in the supervisor's journal: it would compete with a live host's history.
    var durable = !line.Once;

    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
    builder.Services.AddSerilog();
    builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = CrmHostingExtensions.ShutdownTimeout(programs) + TimeSpan.FromSeconds(10));
    builder.Services.AddAkka("crm-actors", akka =>
    {
        akka.AddHocon(settings.Hocon, HoconAddMode.Prepend)
            .WithCrmLogging(settings.Logging)
            .WithRootSupervisor(programs, durable);
        if (durable) akka.WithCrmJournal(target);
    });
    using var host = builder.Build();

    if (!line.Once)
    {
        await host.RunAsync();
        return 0;
    }

    await host.StartAsync();
    var root = await host.Services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync();
    var answer = await root.Ask<object>(
        new SupervisorMessages.ToProgram(ReminderWorkerActor.ProgramName, new ReminderScanMessages.RunScan("once")),
        settings.OnceTimeout);
    await host.StopAsync();
    if (answer is ReminderScanMessages.ScanCompleted done)
    {
        log.Information("Once: {Written} notifications written, {Skipped} rows skipped, {NotDue} no longer due",
            done.Report.Outcome.Written, done.Report.Outcome.Skipped, done.Report.Outcome.NotDue);
        return 0;
    }
    log.Error("Once: the scan did not complete: {Answer}", answer);
    return 1;
}
catch (ConfigurationException e)
{
    log.Error("{Message}", e.Message);
    return 2;
}
catch (Exception e)
{
    log.Fatal(e, "Crm.Host failed: {Message}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}
