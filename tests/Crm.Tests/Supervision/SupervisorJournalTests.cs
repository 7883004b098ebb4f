using System.Diagnostics;
using Akka.Actor;
using Akka.Hosting;
using Akka.Persistence;
using Crm.Actors.Hosting;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using Crm.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;
using static Crm.Actors.Supervision.ProgramState;
using static Crm.Actors.Supervision.SupervisorMessages;

namespace Crm.Tests.Supervision;

/// <summary>
/// Operator intent and history through Akka.Persistence.Sql, on the service's own database: SQLite, and a
/// PostgreSQL that is missing when the host starts. Each "host" is an actor system of its own, running
/// <see cref="StubProgram"/>, whose starts the test decides.
/// </summary>
[Trait("Category", "Integration")]
public class SupervisorJournalTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private const string Name = StubProgram.ProgramName;

    private static readonly ProgramSettings Fast = ProgramSettings.Default with
    {
        StartSecs = TimeSpan.FromMilliseconds(200),
        StartRetries = 1,
        MinBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
    };

    /// <summary>A host's actor system as Program.cs makes it: the journal, the root supervisor, its program (the stub).</summary>
    private static async Task<(ActorSystem System, IActorRef Root)> HostAsync(DatabaseTarget target, StubBehaviour stub)
    {
        var system = await JournalSystemAsync(target, akka => akka.WithRootSupervisor(
            [StubProgram.Program(stub, Fast)], durable: true));
        return (system, await ActorRegistry.For(system).GetAsync<RootSupervisor>());
    }

    /// <summary>An actor system with the service's journal on <paramref name="target"/>, by the host's own extension.</summary>
    private static Task<ActorSystem> JournalSystemAsync(DatabaseTarget target, Action<AkkaConfigurationBuilder>? more = null) =>
        AkkaHosts.StartAsync(akka =>
        {
            akka.WithCrmJournal(target);
            more?.Invoke(akka);
        });

    private static async Task<ProgramInfo> StatusAsync(IActorRef root) => await root.StatusOfAsync(Name, Wait);

    private static async Task StateAsync(IActorRef root, ProgramState state) =>
        await Eventually.HoldsAsync(async () => (await StatusAsync(root)).State == state, Wait, $"{Name} is {state}");

    [Fact]
    public async Task Should_keep_a_program_stopped_by_the_operator_stopped_after_the_host_restarts()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-journal-").FullName, "crm.db");
        var target = new DatabaseTarget(false, $"Data Source={path}", path);
        await using var store = target.CreateStore();
        await store.MigrateAsync();
        var stub = new StubBehaviour();

        var (first, root) = await HostAsync(target, stub);
        await StateAsync(root, Running);
        Assert.Equal("stub: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());
        await Eventually.HoldsAsync(async () => await JournalRowsAsync(path) == 5, Wait, "4 transitions and the intent are journaled");
        await first.Terminate();

        var (second, again) = await HostAsync(target, stub);
        try
        {
            var events = await RecoveredEventsAsync(again, 4);
            Assert.Equal([Starting, Running, Stopping, Stopped], events.Select(e => e.To));
            await Task.Delay(500); // a wrong autostart would show by now
            Assert.Equal(Stopped, (await StatusAsync(again)).State);
            Assert.Equal(1, stub.Starts); // the second host spawned nothing
            Assert.Equal(4, (await again.Ask<EventsReport>(new GetEvents(Name), Wait)).Events.Count);

            Assert.Equal("stub: started", (await again.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());
        }
        finally
        {
            await second.Terminate();
        }
    }

    [Fact]
    public async Task Should_journal_the_last_transition_of_a_host_shutdown_so_that_the_next_start_shows_it()
    {
        var (_, target) = await SqliteAsync();
        var stub = new StubBehaviour();

        var (first, root) = await HostAsync(target, stub);
        await StateAsync(root, Running);
        await CoordinatedShutdown.Get(first).Run(CoordinatedShutdown.ClrExitReason.Instance); // as SIGTERM does
        await first.WhenTerminated;

        var (second, again) = await HostAsync(target, stub);
        try
        {
            var events = await RecoveredEventsAsync(again, 4);
            Assert.Equal([Starting, Running, Stopping, Stopped], events.Take(4).Select(e => e.To));
            Assert.Equal("host shutting down", events[2].Description);
            Assert.Equal(Stopping, events[3].From);
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
        // The program cannot start while its database is missing.
        var stub = new StubBehaviour { FailFirstStarts = int.MaxValue };

        // The first host in the test process pays for warming the runtime up, which on a loaded machine alone can
        // take longer than the answer below may: a host on another database pays for it first.
        var (_, warm) = await SqliteAsync();
        var (warmSystem, warmRoot) = await HostAsync(warm, new StubBehaviour());
        await StateAsync(warmRoot, Running);
        await warmSystem.Terminate();

        var (first, root) = await HostAsync(target, stub);
        try
        {
            // The database does not exist: the supervisor answers at once, and the program fails to start. At once:
            // within 2 s of the root's answer to an Identify sent with the question, which nothing but the machine
            // delays (on a loaded machine the whole process stalls at times, for 1.8 s once, delaying both alike).
            var clock = Stopwatch.StartNew();
            var asked = root.StatusOfAsync(Name, Wait);
            await root.Ask<ActorIdentity>(new Identify(null), Wait);
            var identified = clock.Elapsed;
            var status = await asked;
            Assert.True(clock.Elapsed - identified < TimeSpan.FromSeconds(2),
                $"status answered {clock.Elapsed.TotalMilliseconds:0} ms after the question, the Identify {identified.TotalMilliseconds:0} ms");
            Assert.Equal(Name, status.Name);
            await StateAsync(root, Fatal);

            await using var db = await PostgresServer.CreateDatabaseAsync(name: name);
            stub.FailFirstStarts = 0;
            Assert.Equal("stub: started", (await root.Ask<CommandResult>(new StartProgram(Name), Wait)).ToString());

            // Everything that happened while the database was down reaches the journal once it is back.
            await Eventually.HoldsAsync(async () =>
                {
                    try
                    {
                        return await db.ScalarAsync<long>(
                            "SELECT count(*) FROM crm_actors.journal WHERE persistence_id = 'program-stub'") == 7;
                    }
                    catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                    {
                        return false; // the journal has not created its table yet
                    }
                },
                TimeSpan.FromSeconds(40), "6 transitions and the intent are journaled");
            await first.Terminate();

            var (second, again) = await HostAsync(target, stub);
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
        var stub = new StubBehaviour();
        var (first, root) = await HostAsync(target, stub);
        await StateAsync(root, Running);
        Assert.Equal("stub: stopped", (await root.Ask<CommandResult>(new StopProgram(Name), Wait)).ToString());
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
        var (second, again) = await HostAsync(target, stub);
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
            Assert.Equal(1, stub.Starts); // the second host spawned nothing
        }
        finally
        {
            await second.Terminate();
        }
    }

    private static async Task<(string Path, DatabaseTarget Target)> SqliteAsync()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-journal-").FullName, "crm.db");
        var target = new DatabaseTarget(false, $"Data Source={path}", path);
        await using var store = target.CreateStore();
        await store.MigrateAsync();
        return (path, target);
    }

    private static ProgramTransition Transition(int n) =>
        new(Guid.NewGuid(), DateTimeOffset.UnixEpoch.AddSeconds(n), Name, n % 2 == 0 ? Starting : Backoff, n % 2 == 0 ? Backoff : Starting, $"transition {n}");

    /// <summary>A journal actor of its own, its owner an inbox: what it recovered, and the system to end.</summary>
    private static async Task<(ActorSystem System, IActorRef Journal, Inbox Owner, ProgramJournalMessages.Recovered Recovered, ProgramJournalMessages.Replayed Replayed)>
        JournalAsync(DatabaseTarget target)
    {
        var system = await JournalSystemAsync(target);
        var replays = Inbox.Create(system);
        system.EventStream.Subscribe(replays.Receiver, typeof(ProgramJournalMessages.Replayed));
        var owner = Inbox.Create(system);
        var journal = system.ActorOf(ProgramJournalActor.Props(Name, owner.Receiver, StoreErrors.IsExpected));
        var recovered = (ProgramJournalMessages.Recovered)await owner.ReceiveAsync(Wait);
        return (system, journal, owner, recovered, (ProgramJournalMessages.Replayed)await replays.ReceiveAsync(Wait));
    }

    [Fact]
    public async Task Should_keep_the_journal_to_one_state_and_at_most_a_hundred_events_however_many_transitions_it_records()
    {
        var (path, target) = await SqliteAsync();
        var (first, journal, owner, _, _) = await JournalAsync(target);
        var transitions = Enumerable.Range(1, 3 * ProgramJournalActor.CompactEvery + 50).Select(Transition).ToList();
        try
        {
            foreach (var (transition, n) in transitions.Select((t, n) => (t, n)))
            {
                journal.Tell(transition);
                if (n == 120) journal.Tell(new OperatorIntent(Guid.NewGuid(), DateTimeOffset.UnixEpoch, Stopped: true));
            }
            var persisted = 0;
            while (persisted < transitions.Count + 1)
                if (await owner.ReceiveAsync(Wait) is ProgramJournalMessages.Persisted) persisted++;
            await Eventually.HoldsAsync(async () => await JournalRowsAsync(path) <= ProgramJournalActor.CompactEvery + 2, Wait,
                "the journal deletes what its states stand for");
        }
        finally
        {
            await first.Terminate();
        }

        var (second, _, _, recovered, replayed) = await JournalAsync(target);
        await second.Terminate();
        Assert.InRange(replayed.Events, 1, ProgramJournalActor.CompactEvery + 1);
        Assert.Equal(transitions.Select(t => t.Id), recovered.History.Select(t => t.Id));
        Assert.True(recovered.OperatorStopped);
    }

    /// <summary>Writes a journal as the service did before it compacted: every event since the first start.</summary>
    private sealed class LegacyWriter : ReceivePersistentActor
    {
        public override string PersistenceId => $"program-{Name}";

        public LegacyWriter()
        {
            Command<IProgramJournalEvent[]>(batch =>
            {
                var requester = Sender;
                PersistAll(batch, e => { if (ReferenceEquals(e, batch[^1])) requester.Tell(batch.Length); });
            });
        }
    }

    [Fact]
    public async Task Should_finish_a_compaction_cut_short_by_a_stop_at_the_next_start()
    {
        var (path, target) = await SqliteAsync();
        var seeding = await JournalSystemAsync(target);
        try
        {
            var writer = seeding.ActorOf(Props.Create(() => new LegacyWriter()));
            await writer.Ask<int>(Enumerable.Range(1, 30).Select(Transition).ToArray<IProgramJournalEvent>(), Wait);
            // A state written, the host stopped before its delete: the events it stands for are still there.
            await writer.Ask<int>(new IProgramJournalEvent[] { new ProgramJournalState(Guid.NewGuid(), true, Enumerable.Range(1, 30).Select(Transition).ToList()) }, Wait);
        }
        finally
        {
            await seeding.Terminate();
        }

        var (first, _, _, recovered, replayed) = await JournalAsync(target);
        try
        {
            Assert.Equal((31, true), (replayed.Events, recovered.OperatorStopped));
            await Eventually.HoldsAsync(async () => await JournalRowsAsync(path) <= 2, Wait, "the left-over events are deleted");
        }
        finally
        {
            await first.Terminate();
        }
        var (second, _, _, _, again) = await JournalAsync(target);
        await second.Terminate();
        Assert.Equal(1, again.Events);
    }

    [Fact]
    public async Task Should_start_a_host_with_a_long_history_as_fast_as_a_new_one_replaying_a_bounded_number_of_events()
    {
        const int history = 50_000;
        var (path, target) = await SqliteAsync();
        var seeding = await JournalSystemAsync(target);
        try
        {
            var writer = seeding.ActorOf(Props.Create(() => new LegacyWriter()));
            foreach (var chunk in Enumerable.Range(1, history).Select(Transition).Chunk(1_000))
                await writer.Ask<int>(chunk.Cast<IProgramJournalEvent>().ToArray(), Wait);
        }
        finally
        {
            await seeding.Terminate();
        }
        Assert.Equal(history, await JournalRowsAsync(path));

        var (_, fresh) = await SqliteAsync();
        var newHost = await StartHostAsync(fresh);
        // Replays all of it, as every start did before, then compacts it.
        var firstStart = await StartHostAsync(target, () => Eventually.HoldsAsync(
            async () => await JournalRowsAsync(path) <= ProgramJournalActor.CompactEvery + 2, TimeSpan.FromMinutes(2), "the long journal is compacted"));
        var longHistory = await StartHostAsync(target);
        var (_, freshAgain) = await SqliteAsync();
        var newHostAgain = await StartHostAsync(freshAgain); // the first start of all paid for warming up the runtime

        output.WriteLine($"new host: {newHost.Events} events replayed, journal ready {newHost.Replay.TotalMilliseconds:0} ms, host {newHost.Start.TotalMilliseconds:0} ms");
        output.WriteLine($"new host, warm: {newHostAgain.Events} events replayed, journal ready {newHostAgain.Replay.TotalMilliseconds:0} ms, host {newHostAgain.Start.TotalMilliseconds:0} ms");
        output.WriteLine($"{history} transitions, first start (full replay, then compacted): {firstStart.Events} events, journal ready {firstStart.Replay.TotalMilliseconds:0} ms, host {firstStart.Start.TotalMilliseconds:0} ms");
        output.WriteLine($"{history} transitions, next start: {longHistory.Events} events, journal ready {longHistory.Replay.TotalMilliseconds:0} ms, host {longHistory.Start.TotalMilliseconds:0} ms");
        Assert.Equal(0, newHost.Events);
        Assert.Equal(history, firstStart.Events);
        Assert.InRange(longHistory.Events, 1, ProgramJournalActor.CompactEvery + 1);
        Assert.Equal(ProgramHistoryActor.HistoryKept, longHistory.History);
    }

    /// <summary>
    /// A host's start, up to its program's journal having replayed: how many events, how long the replay took, and
    /// how long from the actor system's creation; and how many transitions <c>events</c> then shows.
    /// </summary>
    private async Task<(long Events, TimeSpan Replay, TimeSpan Start, int History)> StartHostAsync(DatabaseTarget target, Func<Task>? before = null)
    {
        var clock = Stopwatch.StartNew();
        var system = await JournalSystemAsync(target);
        try
        {
            var replays = Inbox.Create(system);
            system.EventStream.Subscribe(replays.Receiver, typeof(ProgramJournalMessages.Replayed));
            var root = system.ActorOf(RootSupervisor.Props(
                [StubProgram.Program(new StubBehaviour(), Fast)], durable: true), RootSupervisor.ActorName);
            var replayed = (ProgramJournalMessages.Replayed)await replays.ReceiveAsync(TimeSpan.FromMinutes(2));
            var start = clock.Elapsed;
            var events = await RecoveredEventsAsync(root, 1);
            await StateAsync(root, Running);
            if (before is not null) await before(); // before the host stops
            return (replayed.Events, replayed.Elapsed, start, events.Count);
        }
        finally
        {
            await system.Terminate();
        }
    }
}
