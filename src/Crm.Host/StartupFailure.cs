using System.Net.Sockets;
using Crm.Actors.Configuration;
using Crm.Actors.Storage;
using Npgsql;

namespace Crm.Host;

/// <summary>What the host's last words name: the database as described (no password) and the admin listener.</summary>
/// <param name="Database">The database, as <see cref="DatabaseUrl.Describe"/> puts it.</param>
/// <param name="DatabaseKey">The setting it came from: DATABASE_URL, crm.database.url or crm.database.sqlite-path.</param>
/// <param name="AdminBind">The value of crm.admin.bind.</param>
public sealed record StartupContext(string Database, string DatabaseKey, string AdminBind);

/// <summary>
/// How the host ends on an error (SPEC §2): exit 2 when the operator must fix a setting (credentials, database
/// name, a database without the CRM's tables, listener address), 1 when the world failed (database unreachable, not
/// migrated yet). Either way one line;
/// only an error nobody foresaw (a bug) keeps its stack trace, as <see cref="Expected"/> false.
/// </summary>
public sealed record StartupFailure(int ExitCode, string Line, bool Expected)
{
    public static StartupFailure Classify(Exception error, StartupContext context)
    {
        return Unwrap(error) switch
        {
            ConfigurationException e => Setting(e.Message),
            // Credentials, database name, a database without the CRM's tables: the URL is wrong (the store's words).
            var e when StoreErrors.AsSetting(e, context.DatabaseKey, context.Database) is { } setting => Setting(setting.Message),
            PostgresException e => World($"{context.Database}: {e.SqlState} {e.MessageText}"),
            StoreNotReadyException e => World(e.Message),
            NpgsqlException e when Find<TimeoutException>(e) is not null => World($"cannot reach {context.Database} ({context.DatabaseKey}): timed out"),
            NpgsqlException e when Find<SocketException>(e) is { } socket =>
                World($"cannot reach {context.Database} ({context.DatabaseKey}): {Describe(socket.SocketErrorCode)}"),
            NpgsqlException e => World($"cannot reach {context.Database} ({context.DatabaseKey}): {e.Message}"),
            // The admin listener, when Kestrel finds it taken after the host's own check (a race).
            IOException e when Find<SocketException>(e) is { } socket =>
                Setting($"invalid configuration: crm.admin.bind = '{context.AdminBind}': {AdminListenerCheck.Problem(socket.SocketErrorCode)}"),
            SocketException e => Setting($"invalid configuration: crm.admin.bind = '{context.AdminBind}': {AdminListenerCheck.Problem(e.SocketErrorCode)}"),
            Akka.Actor.AskTimeoutException => World("--once did not finish within crm.reminders.once-timeout"),
            var other => new StartupFailure(1, $"Crm.Host failed: {Secrets.RedactText(other.Message)}", false),
        };
    }

    private static StartupFailure Setting(string line) => new(2, line, true);

    private static StartupFailure World(string line) => new(1, $"Crm.Host failed: {Secrets.RedactText(line)}", true);

    private static Exception Unwrap(Exception error) =>
        error is AggregateException { InnerExceptions.Count: 1 } aggregate ? Unwrap(aggregate.InnerExceptions[0]) : error;

    private static T? Find<T>(Exception? error) where T : Exception
    {
        for (; error is not null; error = error.InnerException)
            if (error is T found) return found;
        return null;
    }

    private static string Describe(SocketError error) => error switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.TryAgain or SocketError.NoData => "host not found",
        SocketError.TimedOut => "timed out",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to the host",
        var other => other.ToString(),
    };
}
