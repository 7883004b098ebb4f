using Crm.Actors.Storage;
using Npgsql;

namespace Crm.Tests.Support;

/// <summary>
/// The real PostgreSQL server that test.sh starts (CRM_TEST_PG). Each test gets a database of its own, copied
/// from a template that holds the CRM's schema and the service's migration.
/// </summary>
public static class PostgresServer
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static string? _template;

    public static NpgsqlConnectionStringBuilder Admin()
    {
        var text = Environment.GetEnvironmentVariable("CRM_TEST_PG");
        if (string.IsNullOrWhiteSpace(text))
            throw new InvalidOperationException(
                "CRM_TEST_PG is not set: run the tests with ./test.sh, which starts a throwaway PostgreSQL server");
        return new NpgsqlConnectionStringBuilder(text) { Database = "postgres", Pooling = false };
    }

    /// <summary>A fresh database with the CRM schema, migrated unless <paramref name="migrated"/> is false.</summary>
    public static async Task<TestDatabase> CreateDatabaseAsync(bool migrated = true, string? name = null)
    {
        name ??= NewName();
        await Gate.WaitAsync();
        try
        {
            var template = migrated ? await TemplateAsync() : null;
            await ExecuteAsync(Admin(), template is null ? $"CREATE DATABASE {name}" : $"CREATE DATABASE {name} TEMPLATE {template}");
        }
        finally
        {
            Gate.Release();
        }
        var database = new TestDatabase(name, new NpgsqlConnectionStringBuilder(Admin().ConnectionString) { Database = name, Pooling = true });
        if (!migrated) await database.ExecuteAsync(Schema());
        return database;
    }

    public static string NewName() => $"t_{Guid.NewGuid():N}";

    private static async Task<string> TemplateAsync()
    {
        if (_template is not null) return _template;
        var name = $"crm_template_{Environment.ProcessId}_{Guid.NewGuid():N}"[..40];
        await ExecuteAsync(Admin(), $"CREATE DATABASE {name}");
        var connection = new NpgsqlConnectionStringBuilder(Admin().ConnectionString) { Database = name };
        await ExecuteAsync(connection, Schema());
        await using (var store = new PostgresReminderStore(connection))
            await store.MigrateAsync();
        NpgsqlConnection.ClearAllPools();
        return _template = name;
    }

    public static string Schema() => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "fixtures", "crm_schema.sql"));

    internal static async Task ExecuteAsync(NpgsqlConnectionStringBuilder connection, string sql)
    {
        await using var conn = new NpgsqlConnection(connection.ConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>One test's database: helpers to seed the CRM's tables and read what the service wrote.</summary>
public sealed class TestDatabase(string name, NpgsqlConnectionStringBuilder connection) : IAsyncDisposable
{
    public string Name { get; } = name;
    public NpgsqlConnectionStringBuilder Connection { get; } = connection;

    /// <summary>The CRM's DATABASE_URL format, as the host reads it.</summary>
    public string Url => $"postgresql://{Connection.Username}@{Connection.Host}:{Connection.Port}/{Name}";

    public PostgresReminderStore Store() => new(new NpgsqlConnectionStringBuilder(Connection.ConnectionString) { ApplicationName = "crm-actors" });

    public Task ExecuteAsync(string sql) => PostgresServer.ExecuteAsync(Connection, sql);

    public async Task<T> ScalarAsync<T>(string sql)
    {
        await using var conn = new NpgsqlConnection(Connection.ConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T));
    }

    public async Task<List<Dictionary<string, object?>>> RowsAsync(string sql)
    {
        await using var conn = new NpgsqlConnection(Connection.ConnectionString);
        await conn.OpenAsync();
        await using var command = new NpgsqlCommand(sql, conn);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<Dictionary<string, object?>>();
        while (await reader.ReadAsync())
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, i => reader.IsDBNull(i) ? null : reader.GetValue(i)));
        return rows;
    }

    /// <summary>Users 1..10 and organisation 1, then <paramref name="due"/> due interactions, oldest first by id.</summary>
    public Task SeedBacklogAsync(int due, int notDue = 0) => ExecuteAsync($"""
        {CrmRows.Users(Enumerable.Range(1, 10).ToArray())}
        {CrmRows.Organisation}
        INSERT INTO crm_interactions ({CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
            SELECT {CrmRows.InteractionValues()}, 'Interaction ' || g, CASE WHEN g % 2 = 0 THEN 'todo' ELSE 'in_progress' END::interaction_status,
                   1 + g % 10, now() - interval '1 hour' - interval '1 second' * ({due} - g)
            FROM generate_series(1, {due}) g;
        INSERT INTO crm_interactions ({CrmRows.InteractionColumns}, title, status, assignee_id, next_action_at)
            SELECT {CrmRows.InteractionValues()}, 'Later ' || g, 'todo', 1, now() + interval '1 day' FROM generate_series(1, {notDue}) g;
        ANALYZE crm_interactions;
        """);

    /// <summary>The exactly-once invariant: per occurrence one notification, and notified_at set exactly where one exists.</summary>
    public async Task AssertExactlyOnceAsync(int expected)
    {
        Assert.Equal(expected, await ScalarAsync<long>("SELECT count(*) FROM notifications"));
        Assert.Equal(expected, await ScalarAsync<long>("SELECT count(DISTINCT metadata->>'reminder_occurrence') FROM notifications"));
        Assert.Equal(expected, await ScalarAsync<long>("SELECT count(*) FROM crm_interactions WHERE notified_at IS NOT NULL"));
        Assert.Equal(0, await ScalarAsync<long>("""
            SELECT count(*) FROM crm_interactions i
            WHERE (i.notified_at IS NOT NULL) <> EXISTS (SELECT 1 FROM notifications n WHERE n.resource_id = i.id)
            """));
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearPool(new NpgsqlConnection(Connection.ConnectionString));
        await PostgresServer.ExecuteAsync(PostgresServer.Admin(), $"DROP DATABASE IF EXISTS {Name} WITH (FORCE)");
    }
}
