using Akka.Actor;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Supervision;

/// <summary>
/// Operator intent and history through Akka.Persistence.Sql, on the reminders' own database: SQLite, and a
/// PostgreSQL that is missing when the host starts. Each "host" is an actor system of its own.
/// </summary>
public class SupervisorJournalTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private const string Name = ReminderWorkerActor.ProgramName;

    private static readonly ProgramSettings Fast = ProgramSettings.Default with
    {
        StartSecs = TimeSpan.FromMilliseconds(200),
        StartRetries = 1,
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    private static (ActorSystem System, IActorRef Root) Host(DatabaseTarget target, IReminderStore store)
    {
        var system = ActorSystem.Create($"crm-{Guid.NewGuid():N}", target.JournalConfig());
        var root = system.ActorOf(RootSupervisor.Props(
            [ReminderWorkerActor.Program(store, ReminderSettings.Default, Fast, periodic: false)], durable: true), RootSupervisor.ActorName);
        return (system, root);
    }

    private static async Task<ProgramInfo> StatusAsync(IActorRef root) => await root.Ask<ProgramInfo>(new GetStatus(Name), Wait);

    private static async Task StateAsync(IActorRef root, ProgramState state) =>
        await Eventually.HoldsAsync(async () => (await StatusAsync(root)).State == state, Wait, $"{Name} is {state}");

    [Fact]
    public async Task Should_keep_a_program_stopped_by_the_operator_stopped_after_the_host_restarts()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-journal-").FullName, "crm.db");
        var target = new DatabaseTarget(false, $"Data Source={path}", path);
        await using var store = target.CreateStore();
        await store.MigrateAsync();

        var (first, root) = Host(target, store);
        await StateAsync(root, Running);
        Assert.Equal("reminder_worker: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());
        await Eventually.HoldsAsync(async () => await JournalRowsAsync(path) == 5, Wait, "4 transitions and the intent are journaled");
        await first.Terminate();

        var (second, again) = Host(target, store);
        try
        {
            var events = await RecoveredEventsAsync(again, 4);
            Assert.Equal([Starting, Running, Stopping, Stopped], events.Select(e => e.To));
            await Task.Delay(500); // a wrong autostart would show by now
            Assert.Equal(Stopped, (await StatusAsync(again)).State);
            Assert.Equal(4, (await again.Ask<EventsReport>(new GetEvents(Name), Wait)).Events.Count);

            Assert.Equal("reminder_worker: started", (await again.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());
        }
        finally
        {
            await second.Terminate();
        }
    }

    /// <summary>The history once the journal has replayed at least <paramref name="count"/> transitions.</summary>
    private static async Task<IReadOnlyList<ProgramTransition>> RecoveredEventsAsync(IActorRef root, int count)
    {
        IReadOnlyList<ProgramTransition> events = [];
        await Eventually.HoldsAsync(async () =>
            (events = (await root.Ask<EventsReport>(new GetEvents(Name), Wait)).Events).Count >= count, Wait, "the journal has replayed");
        return events;
    }

    private static async Task<long> JournalRowsAsync(string path)
    {
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync();
        await using var command = new SqliteCommand("SELECT count(*) FROM journal", connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task Should_keep_answering_while_the_database_is_down_and_catch_the_journal_up_when_it_is_back()
    {
        var name = PostgresServer.NewName();
        var connection = new NpgsqlConnectionStringBuilder(PostgresServer.Admin().ConnectionString) { Database = name, Pooling = true, Timeout = 3 };
        var target = new DatabaseTarget(true, connection.ConnectionString, "");
        await using var store = target.CreateStore();

        var (first, root) = Host(target, store);
        try
        {
            // The database does not exist: the supervisor answers at once, and the program fails to start.
            var status = await root.Ask<ProgramInfo>(new GetStatus(Name), TimeSpan.FromSeconds(2));
            Assert.Equal(Name, status.Name);
            await StateAsync(root, Fatal);

            await using var db = await PostgresServer.CreateDatabaseAsync(name: name);
            Assert.Equal("reminder_worker: started", (await root.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());

            // Everything that happened while the database was down reaches the journal once it is back.
            await Eventually.HoldsAsync(async () =>
                {
                    try
                    {
                        return await db.ScalarAsync<long>(
                            "SELECT count(*) FROM crm_actors.journal WHERE persistence_id = 'program-reminder_worker'") == 7;
                    }
                    catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                    {
                        return false; // the journal has not created its table yet
                    }
                },
                TimeSpan.FromSeconds(40), "6 transitions and the intent are journaled");
            await first.Terminate();

            var (second, again) = Host(target, store);
            var events = await RecoveredEventsAsync(again, 6);
            await second.Terminate();
            Assert.Equal([Starting, Backoff, Starting, Fatal, Starting, Running], events.Take(6).Select(e => e.To));
        }
        finally
        {
            await first.Terminate();
        }
    }

    [Fact]
    public async Task Should_wait_for_a_slow_journal_and_never_start_a_program_the_operator_stopped()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        var target = new DatabaseTarget(true, db.Connection.ConnectionString, "");
        await using var store = target.CreateStore();
        var (first, root) = Host(target, store);
        await StateAsync(root, Running);
        Assert.Equal("reminder_worker: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());
        await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>("SELECT count(*) FROM crm_actors.journal") == 5,
            Wait, "4 transitions and the intent are journaled");
        await first.Terminate();

        // The journal's replay is held up by a lock, longer than the old 5 s wait after which the host started
        // programs from the configuration.
        await using var locker = new NpgsqlConnection(db.Connection.ConnectionString);
        await locker.OpenAsync();
        await using var transaction = await locker.BeginTransactionAsync();
        await using (var lockCommand = new NpgsqlCommand("LOCK TABLE crm_actors.journal IN ACCESS EXCLUSIVE MODE", locker, transaction))
            await lockCommand.ExecuteNonQueryAsync();
        var (second, again) = Host(target, store);
        try
        {
            await Eventually.HoldsAsync(async () => await db.ScalarAsync<long>(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%journal%'") > 0,
                Wait, "the journal's replay waits for the lock");
            await Task.Delay(TimeSpan.FromSeconds(6)); // past the old bound: a host that gave up waiting would start it now
            Assert.Equal(Stopped, (await StatusAsync(again)).State);
            await transaction.RollbackAsync();

            var events = await RecoveredEventsAsync(again, 4);
            Assert.Equal([Starting, Running, Stopping, Stopped], events.Select(e => e.To));
            Assert.Equal(Stopped, (await StatusAsync(again)).State);
        }
        finally
        {
            await second.Terminate();
        }
    }
}
