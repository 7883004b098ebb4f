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

    /// <summary>
    /// The database refuses what the URL says (its credentials, its database name, or it names a database without
    /// the CRM's tables): a setting to fix, whichever command meets it, so one message naming the setting
    /// <paramref name="key"/> and the database as <paramref name="database"/> describes it (no password). Null
    /// for any other failure.
    /// </summary>
    public static Configuration.ConfigurationException? AsSetting(Exception error, string key, string database)
    {
        var reason = Causes(error).Select(e => e switch
        {
            // 28P01 wrong password, 28000 unknown role or refused by pg_hba.conf, 3D000 unknown database.
            PostgresException { SqlState: "28P01" or "28000" } pg => $"cannot log in: {pg.SqlState} {pg.MessageText}",
            PostgresException { SqlState: "3D000" } pg => $"{pg.SqlState} {pg.MessageText}",
            // A table of the CRM's, not of the service's own schema (that one is --migrate's).
            PostgresException { SqlState: "42P01" } pg when CrmTables.Any(t => pg.MessageText == $"relation \"{t}\" does not exist") =>
                $"{pg.SqlState} {pg.MessageText}: the CRM's tables are not in this database",
            // Npgsql's own words, no SQLSTATE: the server wants a password and the URL gives none.
            NpgsqlException npgsql when npgsql is not PostgresException && npgsql.Message.StartsWith("No password has been provided", StringComparison.Ordinal) =>
                "the server asks for a password and the URL has none",
            _ => null,
        }).FirstOrDefault(r => r is not null);
        return reason is null ? null : new Configuration.ConfigurationException(key, database, reason);
    }

    private static readonly string[] CrmTables = ["crm_interactions", "notifications", "users"];

    private static IEnumerable<Exception> Causes(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException) yield return e;
    }
}
