using Akka.Persistence.Sql.Config;
using Akka.Persistence.Sql.Hosting;
using Crm.Actors.Configuration;
using LinqToDB;
using LinqToDB.Data;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Crm.Actors.Storage;

/// <summary>Where crm.database and DATABASE_URL point: a PostgreSQL URL (and the key it came from), the SQLite file.</summary>
public sealed record DatabaseSettings(string? PostgresUrl, string PostgresUrlKey, string SqlitePath);

/// <summary>
/// Where the reminders and the supervisor's journal live: the CRM's PostgreSQL when a URL is configured (and not
/// <c>--demo</c>), else the embedded SQLite file. One database for both, on purpose: the service depends on one thing.
/// </summary>
public sealed record DatabaseTarget(bool IsPostgres, string ConnectionString, string SqlitePath)
{
    public static DatabaseTarget From(DatabaseSettings database, bool demo)
    {
        if (database.PostgresUrl is { } url && !demo)
        {
            var builder = DatabaseUrl.Parse(url, database.PostgresUrlKey);
            return new DatabaseTarget(true, builder.ConnectionString, "") { Key = database.PostgresUrlKey };
        }
        var path = Path.GetFullPath(database.SqlitePath);
        return new DatabaseTarget(false, new SqliteConnectionStringBuilder { DataSource = path }.ToString(), path);
    }

    /// <summary>The setting the PostgreSQL URL came from (DATABASE_URL or crm.database.url).</summary>
    public string Key { get; init; } = "DATABASE_URL";

    /// <param name="pushChannel">PostgreSQL only: where committed notifications are announced ("" for nowhere).</param>
    public IReminderStore CreateStore(string pushChannel = "") => IsPostgres
        ? new PostgresReminderStore(new NpgsqlConnectionStringBuilder(ConnectionString), pushChannel, Key)
        : new SqliteReminderStore(SqlitePath);

    /// <summary>
    /// Opens one connection the way the journal will (linq2db on the same connection string, so the same Npgsql
    /// pool and its loaded types), on a pool thread, while the host sets up the rest: the journal's first recovery,
    /// which a restarted node's programs wait for, then finds both ready. Never fails: the journal reports an
    /// unreachable database itself.
    /// </summary>
    public Task WarmUpJournalAsync() => !IsPostgres ? Task.CompletedTask : Task.Run(async () =>
    {
        try
        {
            await using var db = new DataConnection(new DataOptions().UseConnectionString(ProviderName.PostgreSQL15, ConnectionString));
            await db.ExecuteAsync<int>("SELECT 1");
        }
        catch (Exception)
        {
            // best effort: the journal meets the same cause and reports it
        }
    });

    /// <summary>
    /// The Akka.Persistence.Sql journal on this database, in tables the stores' migrations create (on PostgreSQL
    /// in the schema <c>crm_actors</c>). The plugin does not create them: when it fails to at start (database
    /// down) it stops for good, and the journal could never catch up.
    /// </summary>
    public SqlJournalOptions JournalOptions() => new(isDefaultPlugin: true)
    {
        ConnectionString = ConnectionString,
        ProviderName = IsPostgres ? ProviderName.PostgreSQL15 : ProviderName.SQLiteMS,
        AutoInitialize = false,
        DatabaseOptions = IsPostgres ? new JournalDatabaseOptions(DatabaseMapping.Default) { SchemaName = "crm_actors" } : null,
    };

    /// <summary>
    /// Akka.Persistence.Sql's snapshot store beside the journal, in a table the migrations create: the journal keeps
    /// a program's state every so many events (the local-file default would fail for a non-root user in a read-only
    /// working directory, taking the journal's recovery down with it).
    /// </summary>
    public SqlSnapshotOptions SnapshotOptions() => new(isDefaultPlugin: true)
    {
        ConnectionString = ConnectionString,
        ProviderName = IsPostgres ? ProviderName.PostgreSQL15 : ProviderName.SQLiteMS,
        AutoInitialize = false,
        DatabaseOptions = IsPostgres ? new SnapshotDatabaseOptions(DatabaseMapping.Default) { SchemaName = "crm_actors" } : null,
    };
}
