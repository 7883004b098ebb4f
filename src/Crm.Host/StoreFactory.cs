using Crm.Actors.Configuration;
using Crm.Actors.Storage;

namespace Crm.Host;

public static class StoreFactory
{
    /// <summary>PostgreSQL when a URL is configured (and not --demo), else the embedded SQLite file.</summary>
    public static IReminderStore Create(DatabaseSettings database, bool demo) =>
        database.PostgresUrl is { } url && !demo
            ? new PostgresReminderStore(DatabaseUrl.Parse(url, database.PostgresUrlKey))
            : new SqliteReminderStore(database.SqlitePath);
}
