using System.Net.Sockets;
using Crm.Actors.Configuration;
using Crm.Actors.Reminders;
using Crm.Actors.Storage;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Crm.Tests.Storage;

/// <summary>
/// <see cref="StoreErrors"/> decides every restart: a transient error restarts an actor with backoff, an outage
/// never makes a program FATAL, and an expected failure is logged in one line.
/// </summary>
public class StoreErrorsTests
{
    private static PostgresException Pg(string sqlState) => new("message", "ERROR", "ERROR", sqlState);

    [Theory]
    [InlineData("08006", true)]  // connection failure
    [InlineData("08001", true)]  // cannot connect
    [InlineData("57P01", true)]  // admin shutdown
    [InlineData("57P03", true)]  // cannot connect now (starting up)
    [InlineData("53300", true)]  // too many connections
    [InlineData("40001", true)]  // serialization failure
    [InlineData("40P01", true)]  // deadlock detected
    [InlineData("28P01", false)] // bad password: a restart cannot cure it
    [InlineData("3D000", false)] // no such database
    [InlineData("42501", false)] // insufficient privilege
    [InlineData("42P01", false)] // undefined table (not migrated)
    [InlineData("23505", false)] // unique violation: a row's data
    public void Should_classify_PostgreSQL_errors_by_SQLSTATE(string sqlState, bool transient)
    {
        Assert.Equal(transient, StoreErrors.IsTransient(Pg(sqlState)));
    }

    [Fact]
    public void Should_count_a_refused_or_cut_connection_as_transient()
    {
        Assert.True(StoreErrors.IsTransient(new NpgsqlException("Failed to connect", new SocketException(111))));
        Assert.True(StoreErrors.IsTransient(new NpgsqlException("Exception while reading from stream", new IOException("EOF"))));
        Assert.True(StoreErrors.IsTransient(new TimeoutException()));
        Assert.False(StoreErrors.IsTransient(new NpgsqlException("something else")));
    }

    [Theory]
    [InlineData(5, true)]   // SQLITE_BUSY
    [InlineData(6, true)]   // SQLITE_LOCKED
    [InlineData(19, false)] // SQLITE_CONSTRAINT
    [InlineData(14, false)] // SQLITE_CANTOPEN
    public void Should_classify_SQLite_errors_by_code(int code, bool transient)
    {
        Assert.Equal(transient, StoreErrors.IsTransient(new SqliteException("message", code)));
    }

    [Fact]
    public void Should_see_an_outage_through_the_wrappers_of_a_failed_start()
    {
        var start = new ProgramStartException("reminder_worker could not start",
            new NpgsqlException("Failed to connect to 127.0.0.1:5432", new SocketException(111)));
        Assert.True(StoreErrors.IsOutage(start));
        Assert.False(StoreErrors.IsOutage(new ProgramStartException("could not start", Pg("28P01"))));
    }

    [Fact]
    public void Should_call_database_refusals_and_settings_expected_and_anything_else_a_bug()
    {
        Assert.True(StoreErrors.IsExpected(new ProgramStartException("x", new StoreNotReadyException("not migrated"))));
        Assert.True(StoreErrors.IsExpected(new ReminderPipelineException("x", Pg("42501"))));
        Assert.True(StoreErrors.IsExpected(new ConfigurationException("crm.reminders.notification-type", "X", "no such label")));
        Assert.False(StoreErrors.IsExpected(new NullReferenceException()));
        Assert.False(StoreErrors.IsExpected(new ReminderPipelineException("x", new InvalidOperationException())));
    }
}
