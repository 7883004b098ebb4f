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
}
