using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Crm.Actors.Storage;

/// <summary>Classifies database failures: transient ones are worth a restart with backoff, the rest are not.</summary>
public static class StoreErrors
{
    public static bool IsTransient(Exception error) => error switch
    {
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal)   // connection exception
            || pg.SqlState.StartsWith("57P", StringComparison.Ordinal)  // admin shutdown, terminated backend
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal),  // insufficient resources
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException,
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6, // SQLITE_BUSY, SQLITE_LOCKED
        TimeoutException or SocketException or IOException => true,
        AggregateException { InnerExceptions.Count: 1 } aggregate => IsTransient(aggregate.InnerExceptions[0]),
        _ => false,
    };

    /// <summary>
    /// The database could not be reached (or dropped us, or is restarting) somewhere in the causes of
    /// <paramref name="error"/>: a restart cures it once the database is back.
    /// </summary>
    public static bool IsOutage(Exception error) => Causes(error).Any(IsTransient);

    /// <summary>
    /// A failure the service expects and explains in one line: an outage, a database that refuses or is not
    /// ready, a setting. Anything else is a bug, worth its stack trace.
    /// </summary>
    public static bool IsExpected(Exception error) => Causes(error).Any(e =>
        IsTransient(e) || e is NpgsqlException or SqliteException or StoreNotReadyException or SystemicRefusalException
            or Configuration.ConfigurationException);

    private static IEnumerable<Exception> Causes(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException) yield return e;
    }
}
