using Akka.Actor;
using Akka.Hosting;
using Crm.Actors.Hosting;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;
using Crm.Host.Admin;
using Crm.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using static Crm.Actors.Supervision.SupervisorMessages;
using static Crm.Tests.Programs.CrashOnCommandProgram;

namespace Crm.Tests.Programs;

/// <summary>
/// A second program, known only to the tests, beside the real reminder_worker, in an actor system built by the
/// hosting extensions Program.cs uses (<see cref="CrmHostingExtensions.WithRootSupervisor"/> over the programs
/// <see cref="ConfigurationState.Define"/> makes from the catalog and the configuration).
/// </summary>
public sealed class SecondProgramTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly string _directory = Directory.CreateTempSubdirectory("crm-programs-").FullName;
    private IHost _host = null!;
    private IActorRef _root = ActorRefs.Nobody;
    private ActorSystem _system = null!;
    private SqliteReminderStore _store = null!;

    public async Task InitializeAsync()
    {
        var settings = CrmSettings.Load($$"""
            crm.database.sqlite-path = "{{Path.Combine(_directory, "crm.db")}}"
            crm.programs.default { startsecs = 0s, stopwaitsecs = 2s, min-backoff = 50ms, max-backoff = 200ms }
            test.greeting = "bonjour"
            """, new Dictionary<string, string?>());
        _store = new SqliteReminderStore(settings.Database.SqlitePath);
        await _store.MigrateAsync();
        // The one registration line the second program needs: no section of its own, it takes crm.programs.default.
        var programs = new ProgramCatalog().AddReminderWorker(_store).AddCrashOnCommand();
        var definitions = ConfigurationState.Define(programs, settings);

        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddAkka(ClusterSettings.SystemName, akka => akka.WithRootSupervisor(definitions, durable: false));
        _host = builder.Build();
        await _host.StartAsync();
        _system = _host.Services.GetRequiredService<ActorSystem>();
        _root = await _host.Services.GetRequiredService<IRequiredActor<RootSupervisor>>().GetAsync();
        await Eventually.HoldsAsync(async () => (await StatusAsync()).Programs.All(p => p.State == ProgramState.Running), Wait, "both programs RUNNING");
    }

    public async Task DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
        await _store.DisposeAsync();
    }

    private Task<StatusReport> StatusAsync() => _root.Ask<StatusReport>(new GetStatus(null), Wait);

    [Fact]
    public async Task Should_run_a_program_registered_by_one_line_beside_the_reminder_worker_with_its_own_settings()
    {
        Assert.Equal([ProgramName, ReminderWorkerActor.ProgramName], (await StatusAsync()).Programs.Select(p => p.Name));
        Assert.Equal(new Pong("bonjour, test"), await _root.Ask<Pong>(new ToProgram(ProgramName, new Ping("test")), Wait));
    }

    [Fact]
    public async Task Should_restart_the_program_that_crashed_and_leave_the_other_running()
    {
        var transitions = Inbox.Create(_system);
        _system.EventStream.Subscribe(transitions.Receiver, typeof(ProgramTransition));
        var restartsBefore = CrmMetrics.ProgramRestarts.Read(ProgramName);

        _root.Tell(new ToProgram(ProgramName, Crash.Instance));

        var seen = new List<ProgramTransition>();
        while (seen.LastOrDefault()?.To != ProgramState.Running)
            seen.Add((ProgramTransition)await transitions.ReceiveAsync(Wait));
        Assert.All(seen, t => Assert.Equal(ProgramName, t.Program));
        Assert.Equal([ProgramState.Exited, ProgramState.Starting, ProgramState.Running], seen.Select(t => t.To));
        Assert.Contains("crashed on command", seen[0].Description);
        Assert.Equal(restartsBefore + 1, CrmMetrics.ProgramRestarts.Read(ProgramName));
        Assert.Equal("RUNNING", CrmMetrics.ProgramState.StateOf(ProgramName));
        Assert.Equal(ProgramState.Running, (await StatusAsync()).Programs.Single(p => p.Name == ReminderWorkerActor.ProgramName).State);
    }

    [Fact]
    public async Task Should_answer_a_request_to_the_stopped_program_with_the_programs_own_message()
    {
        Assert.Equal($"{ProgramName}: stopped", (await _root.Ask<CommandResult>(new StopProgram(ProgramName), Wait)).ToString());

        var answer = await _root.Ask<NotRunning>(new ToProgram(ProgramName, new Ping("test")), Wait);

        Assert.Equal($"{ProgramName} is STOPPED", answer.Reason);
        Assert.Equal(ProgramState.Running, (await StatusAsync()).Programs.Single(p => p.Name == ReminderWorkerActor.ProgramName).State);
    }
}
