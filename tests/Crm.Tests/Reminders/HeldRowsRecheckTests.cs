using Akka.TestKit;
using Crm.Actors.Reminders;
using Crm.Tests.Support;
using Npgsql;
using Xunit.Abstractions;
using static Crm.Actors.Reminders.ReminderScanMessages;

namespace Crm.Tests.Reminders;

/// <summary>
/// SPEC §8: due rows another instance held are looked at again within a second of their release, never left to
/// the safety-net tick. The real program (scheduler, LISTEN, scan, writers) on a real PostgreSQL, on a quiet
/// service: nothing else is due or coming due, and the ticks are an hour away, so only the recheck can write them.
/// </summary>
[Trait("Category", "Integration")]
public sealed class HeldRowsRecheckTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly ITestOutputHelper _output;

    public HeldRowsRecheckTests(ITestOutputHelper output) : base("akka.loglevel = INFO", output) => _output = output;

    private const int Due = 30;
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);

    private static readonly ReminderSettings Quiet = ReminderSettings.Default with
    {
        Interval = TimeSpan.FromHours(1), ListenInterval = TimeSpan.FromHours(1), BatchSize = 10, Writers = 2,
    };

    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await PostgresServer.CreateDatabaseAsync();

    async Task IAsyncLifetime.DisposeAsync() => await _db.DisposeAsync();

    [Fact]
    public Task Should_write_rows_another_instance_held_within_a_second_of_their_release_with_nothing_else_coming_due() =>
        ReleasedWithinASecondAsync("rolled back", async (holder, holding) =>
        {
            // A node whose transaction ends without a commit: its rows are due again, and nobody says so.
            await using var clock = new NpgsqlCommand("SELECT clock_timestamp()", holder, holding);
            var releasedBy = (DateTime)(await clock.ExecuteScalarAsync())!;
            await holding.RollbackAsync();
            return releasedBy;
        });

    [Fact]
    public Task Should_write_rows_a_killed_instance_held_within_a_second_of_its_backend_ending_with_nothing_else_coming_due() =>
        ReleasedWithinASecondAsync("terminated", async (holder, _) =>
        {
            // As a SIGKILLed node's connection ends: the server rolls its transaction back when the backend goes.
            var ended = await _db.RowsAsync($"SELECT clock_timestamp() AS at, pg_terminate_backend({holder.ProcessID}, 10000) AS ended");
            Assert.Equal(true, ended[0]["ended"]);
            return (DateTime)ended[0]["at"]!;
        });

    [Fact]
    public async Task Should_stop_looking_again_once_the_instance_that_held_the_rows_has_written_them()
    {
        await _db.SeedBacklogAsync(Due);
        await using var holder = new NpgsqlConnection(_db.Connection.ConnectionString);
        await holder.OpenAsync();
        var holding = await holder.BeginTransactionAsync();
        // The other instance's batch marks its rows (its notifications are its own business here), then commits.
        await using (var mark = new NpgsqlCommand("UPDATE crm_interactions SET notified_at = now() WHERE notified_at IS NULL", holder, holding))
            Assert.Equal(Due, await mark.ExecuteNonQueryAsync());
        var scans = CreateTestProbe();
        Sys.EventStream.Subscribe(scans.Ref, typeof(ScanCompleted));
        await using var store = _db.Store();
        Sys.ActorOf(ReminderWorkerActor.Props(store, Quiet, periodic: true));
        await FishAsync(scans, r => r.Trigger == "recheck" && r.Outcome.Held == Due);

        await holding.CommitAsync();

        var last = await FishAsync(scans, r => r.Outcome.Held == 0);
        Assert.Equal((0, 0), (last.Found, last.Outcome.Written));
        // None held any more, nothing coming due, ticks an hour away: the service goes quiet.
        await scans.ExpectNoMsgAsync(Quiet.HeldRecheck * 4);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));
    }

    /// <param name="release">Ends the holder's transaction; returns an instant, by the database's clock, no later
    /// than the release (the measured delay is never flattered).</param>
    private async Task ReleasedWithinASecondAsync(string how, Func<NpgsqlConnection, NpgsqlTransaction, Task<DateTime>> release)
    {
        await _db.SeedBacklogAsync(Due);
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NULL AND next_action_at > now()"));
        // The other instance's batch, open: its rows locked as the service's own statement locks them.
        await using var holder = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(_db.Connection.ConnectionString) { Pooling = false }.ConnectionString);
        await holder.OpenAsync();
        var holding = await holder.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand(
                         "SELECT count(*) FROM (SELECT id FROM crm_interactions WHERE notified_at IS NULL FOR UPDATE) x", holder, holding))
            Assert.Equal((long)Due, await hold.ExecuteScalarAsync());

        var scans = CreateTestProbe();
        Sys.EventStream.Subscribe(scans.Ref, typeof(ScanCompleted));
        await using var store = _db.Store();
        Sys.ActorOf(ReminderWorkerActor.Props(store, Quiet, periodic: true));

        // Seen held, and looked at again while held: the rows are found, nothing is written or lost.
        await FishAsync(scans, r => r.Outcome.Held == Due);
        var recheck = await FishAsync(scans, r => r.Trigger == "recheck");
        Assert.Equal((Due, 0, 0, Due), (recheck.Found, recheck.Outcome.Written, recheck.Outcome.NotDue, recheck.Outcome.Held));
        Assert.Equal(0, await _db.ScalarAsync<long>("SELECT count(*) FROM notifications"));

        var releasedBy = await release(holder, holding);

        var writing = await FishAsync(scans, r => r.Outcome.Written > 0);
        await Eventually.HoldsAsync(async () => await _db.ScalarAsync<long>("SELECT count(*) FROM notifications") == Due,
            Long, "every held row is written");
        var lastWritten = await _db.ScalarAsync<DateTime>("SELECT max(created_at) FROM notifications");
        var delay = lastWritten - releasedBy;
        _output.WriteLine($"{how}: all {Due} rows written {delay.TotalSeconds:0.000} s after the release, by a '{writing.Trigger}' scan");
        // The promise is 1 s; the slack is for a loaded CI machine.
        Assert.InRange(delay, TimeSpan.Zero, TimeSpan.FromSeconds(1.5));
        Assert.Equal("recheck", writing.Trigger); // nothing else woke the service: no tick, no announcement
        await _db.AssertExactlyOnceAsync(Due);
    }

    private static async Task<ScanReport> FishAsync(TestProbe scans, Func<ScanReport, bool> matches) =>
        (await scans.FishForMessageAsync<ScanCompleted>(done => matches(done.Report), Long)).Report;
}
