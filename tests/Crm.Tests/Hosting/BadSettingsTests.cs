using System.Net;
using System.Net.Sockets;
using System.Text;
using Crm.Tests.Support;
using Xunit.Abstractions;

namespace Crm.Tests.Hosting;

/// <summary>
/// SPEC §2, run as the real Crm.Host: every bad setting ends the host with its documented exit code (2: a setting
/// to fix, 1: the world) and one line naming the setting and its value, never a stack trace, never a password.
/// </summary>
[Trait("Category", "Integration")]
public class BadSettingsTests(ITestOutputHelper output)
{
    /// <summary>The password every case carries where a password can go; it must appear nowhere.</summary>
    private const string Secret = "hunter2";

    /// <param name="Config">The text of a --config file written for the run ({config} in the arguments).</param>
    /// <param name="Tail">Bytes written after <paramref name="Config"/>, for files that are not text.</param>
    /// <param name="FirstLine">What the first line printed must contain.</param>
    public sealed record BadSetting(string[] Args, int Exit, string[] FirstLine, Dictionary<string, string>? Env = null, string? Config = null, byte[]? Tail = null);

    private static BadSetting Once(string config, params string[] firstLine) => new(["--once", "--config", "{config}"], 2, firstLine, Config: config);

    private static BadSetting Url(string url, int exit, params string[] firstLine) =>
        new(["--once"], exit, firstLine, new() { ["DATABASE_URL"] = url });

    // Resolved for each run: {config} the file written from Config, {file} a regular file, {pg} the test server's
    // host:port and {user} its user, {closed} a loopback port nobody listens on, {busy} a loopback port this test
    // holds, {unmigrated} a fresh database with the CRM's schema and not the service's migration, {empty} a fresh
    // database without the CRM's tables.
    public static readonly Dictionary<string, BadSetting> Table = new()
    {
        // Arguments.
        ["an unknown argument"] = new(["--onse"], 2, ["invalid configuration: argument = '--onse': unknown"]),
        ["--once with --migrate"] = new(["--once", "--migrate"], 2, ["argument = '--once --migrate': choose one of them"]),
        ["a --config file that does not exist"] = new(["--once", "--config", "{file}.missing"], 2, ["--config = '{file}.missing': no such file"]),
        // Values of known keys.
        ["batch-size lots"] = Once("crm.reminders.batch-size = lots", "crm.reminders.batch-size = 'lots': expected a whole number"),
        ["interval soon"] = Once("crm.reminders.interval = soon", "crm.reminders.interval = 'soon': expected a duration"),
        ["time-zone Mars/Olympus"] = Once("crm.reminders.time-zone = \"Mars/Olympus\"", "crm.reminders.time-zone = 'Mars/Olympus'"),
        ["priority SOMEDAY"] = Once("crm.reminders.priority = SOMEDAY", "crm.reminders.priority = 'SOMEDAY': expected one of"),
        ["admin.bind without a port"] = Once("crm.admin.bind = \"127.0.0.1\"", "crm.admin.bind = '127.0.0.1': expected ADDRESS:PORT"),
        ["max-backoff below min-backoff"] = Once("crm.programs.reminder_worker { min-backoff = 10s, max-backoff = 1s }",
            "crm.programs.reminder_worker.max-backoff = '1s': must not be below"),
        // DATABASE_URL: the password never shows, parse or not.
        ["DATABASE_URL of another scheme"] = Url($"mysql://crm:{Secret}@db/crm", 2, "DATABASE_URL = 'mysql://crm:***@db/crm': unsupported scheme"),
        ["DATABASE_URL port 99999"] = Url($"postgresql://crm:{Secret}@db:99999/crm", 2,
            "DATABASE_URL = 'postgresql://crm:***@db:99999/crm': the port '99999' is not a number from 1 to 65535"),
        ["DATABASE_URL port abc"] = Url($"postgresql://crm:{Secret}@db:abc/crm", 2,
            "DATABASE_URL = 'postgresql://crm:***@db:abc/crm': the port 'abc' is not a number from 1 to 65535"),
        ["DATABASE_URL with a raw @ in the password"] = Url($"postgresql://crm:{Secret}@x@db:abc/crm", 2, "DATABASE_URL = 'postgresql://crm:***@db:abc/crm'"),
        ["DATABASE_URL connect_timeout abc"] = Url($"postgresql://crm:{Secret}@db/crm?connect_timeout=abc", 2,
            "DATABASE_URL = 'postgresql://crm:***@db/crm?connect_timeout=abc': connect_timeout 'abc' is not a whole number of seconds"),
        ["DATABASE_URL connect_timeout -5"] = Url($"postgresql://crm:{Secret}@db/crm?connect_timeout=-5", 2,
            "DATABASE_URL = 'postgresql://crm:***@db/crm?connect_timeout=-5': connect_timeout '-5' is not a whole number of seconds"),
        ["crm.database.url port 99999 in the file"] = Once($"crm.database.url = \"postgresql://crm:{Secret}@db:99999/crm\"",
            "crm.database.url = 'postgresql://crm:***@db:99999/crm': the port '99999'"),
        // Folders the host writes to, and SENTRY_DSN.
        ["CRM_LOG_DIR under a regular file"] = new(["--once"], 2, ["CRM_LOG_DIR = '{file}/logs': cannot write a file in this folder"],
            new() { ["CRM_LOG_DIR"] = "{file}/logs" }),
        ["CRM_LOG_DIR in a read-only place"] = new(["--once"], 2, ["CRM_LOG_DIR = '/sys/crm-logs': cannot write a file in this folder"],
            new() { ["CRM_LOG_DIR"] = "/sys/crm-logs" }), // sysfs refuses a new folder, root included
        ["CRM_LOG_DIR that refuses files"] = new(["--once"], 2, ["CRM_LOG_DIR = '/sys': cannot write a file in this folder"],
            new() { ["CRM_LOG_DIR"] = "/sys" }),
        ["crm.logging.dir under a regular file"] = Once("crm.logging.dir = \"{file}/logs\"", "crm.logging.dir = '{file}/logs': cannot write a file in this folder"),
        ["crm.database.sqlite-path under a regular file"] = Once("crm.database.sqlite-path = \"{file}/crm.db\"",
            "crm.database.sqlite-path = '{file}/crm.db': cannot write a file in {file}"),
        ["SENTRY_DSN that is no DSN"] = new(["--once"], 2, ["SENTRY_DSN = 'not a dsn': expected a DSN"], new() { ["SENTRY_DSN"] = "not a dsn" }),
        // Keys an operator mistyped, files that are not HOCON, templates.
        ["crm.reminders.intervall"] = Once("crm.reminders.intervall = 1m", "crm.reminders.intervall = '1m': unknown key; did you mean crm.reminders.interval?"),
        ["crm.reminder.batch-size"] = Once("crm.reminder.batch-size = 100", "crm.reminder.batch-size = '100': unknown key; did you mean crm.reminders.batch-size?"),
        ["a program key mistyped"] = Once("crm.programs.reminder_worker.startsec = 1s",
            "crm.programs.reminder_worker.startsec = '1s': unknown key; did you mean crm.programs.reminder_worker.startsecs?"),
        ["an unclosed brace"] = Once("crm.reminders {\n  interval = 1m\n", "--config = '{config}': not valid HOCON: line 1: '{' is never closed"),
        ["binary bytes after a valid file"] = new(["--once", "--config", "{config}"], 2,
            ["--config = '{config}': not valid HOCON: line 2: control character U+0000"], Config: "crm.reminders.interval = 1m\n", Tail: [0, 1, 0xff, 0xfe, 0x80]),
        ["a template placeholder {foo}"] = Once("crm.reminders.title-template = \"Rappel: {foo}\"",
            "crm.reminders.title-template = 'Rappel: {foo}': unknown placeholder {foo}; the placeholders are {title}, {id}, {date}, {time}"),
        // Found at run time: the database (--once, --migrate) and the admin listener (the service).
        ["an unknown database with --once"] = Url("postgresql://{user}@{pg}/no_such_database", 2,
            "invalid configuration: DATABASE_URL = 'postgresql://{user}@{pg}/no_such_database': 3D000 database \"no_such_database\" does not exist"),
        ["an unknown database with --migrate"] = new(["--migrate"], 2, ["DATABASE_URL = 'postgresql://{user}@{pg}/no_such_database': 3D000"],
            new() { ["DATABASE_URL"] = "postgresql://{user}@{pg}/no_such_database" }),
        ["an unknown role with a password"] = Url($"postgresql://no_such_role:{Secret}@{{pg}}/postgres", 2,
            "DATABASE_URL = 'postgresql://no_such_role@{pg}/postgres': cannot log in: 28000 role \"no_such_role\" does not exist"),
        ["a closed port with --once"] = Url($"postgresql://{{user}}:{Secret}@127.0.0.1:{{closed}}/postgres", 1,
            "Crm.Host failed: cannot reach postgresql://{user}@127.0.0.1:{closed}/postgres (DATABASE_URL): connection refused"),
        ["a closed port with --migrate"] = new(["--migrate"], 1, ["cannot reach postgresql://{user}@127.0.0.1:{closed}/postgres (DATABASE_URL): connection refused"],
            new() { ["DATABASE_URL"] = "postgresql://{user}@127.0.0.1:{closed}/postgres" }),
        ["an unmigrated database with --once"] = Url("postgresql://{user}@{pg}/{unmigrated}", 1,
            "Crm.Host failed: postgresql://{user}@{pg}/{unmigrated} is not migrated for crm-actors: run Crm.Host --migrate"),
        ["a database without the CRM's tables with --once"] = Url("postgresql://{user}@{pg}/{empty}", 2,
            "invalid configuration: DATABASE_URL = 'postgresql://{user}@{pg}/{empty}': 42P01 relation \"notifications\" does not exist: the CRM's tables are not in this database"),
        ["a database without the CRM's tables with --migrate"] = new(["--migrate"], 2,
            ["invalid configuration: DATABASE_URL = 'postgresql://{user}@{pg}/{empty}': 42P01 relation \"crm_interactions\" does not exist"],
            new() { ["DATABASE_URL"] = "postgresql://{user}@{pg}/{empty}" }),
        ["a cluster on the embedded database"] = new(["--config", "{config}"], 2,
            ["crm.cluster.enabled = 'on': needs PostgreSQL (DATABASE_URL or crm.database.url)"],
            Config: "crm.cluster.enabled = on"),
        ["an admin address not on this machine"] = new(["--config", "{config}"], 2,
            ["crm.admin.bind = '192.0.2.1:9110': the address is not one of this machine's"], Config: "crm.admin.bind = \"192.0.2.1:9110\""),
        ["an admin port in use"] = new(["--config", "{config}"], 2,
            ["crm.admin.bind = '127.0.0.1:{busy}': the port is already in use"], Config: "crm.admin.bind = \"127.0.0.1:{busy}\""),
    };

    public static TheoryData<string> Names => new(Table.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Should_exit_with_the_documented_code_and_one_line_naming_the_setting_and_no_password(string setting)
    {
        var bad = Table[setting];
        var scratch = Directory.CreateTempSubdirectory("crm-bad-").FullName;
        var file = Path.Combine(scratch, "a-regular-file");
        await File.WriteAllTextAsync(file, "");
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var needsDatabase = Uses(bad, "{pg}") || Uses(bad, "{unmigrated}") || Uses(bad, "{user}");
        var admin = needsDatabase ? PostgresServer.Admin() : null;
        await using var unmigrated = Uses(bad, "{unmigrated}") ? await PostgresServer.CreateDatabaseAsync(migrated: false) : null;
        await using var empty = Uses(bad, "{empty}") ? await EmptyDatabaseAsync() : null;
        var values = new Dictionary<string, string>
        {
            ["{config}"] = Path.Combine(scratch, "crm.conf"),
            ["{file}"] = file,
            ["{pg}"] = admin is null ? "" : $"{admin.Host}:{admin.Port}",
            ["{user}"] = admin?.Username ?? "",
            ["{closed}"] = Ports.Free().ToString(),
            ["{busy}"] = ((IPEndPoint)busy.LocalEndpoint).Port.ToString(),
            ["{unmigrated}"] = unmigrated?.Name ?? "",
            ["{empty}"] = empty?.Name ?? "",
        };
        string Resolve(string text) => values.Aggregate(text, (t, v) => t.Replace(v.Key, v.Value, StringComparison.Ordinal));
        if (bad.Config is not null)
            await File.WriteAllBytesAsync(values["{config}"], [.. Encoding.UTF8.GetBytes(Resolve(bad.Config)), .. bad.Tail ?? []]);

        using var host = HostProcess.Start(bad.Args.Select(Resolve), bad.Env?.ToDictionary(e => e.Key, e => Resolve(e.Value)));
        var code = await host.WaitAsync(TimeSpan.FromMinutes(2));

        var lines = host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        output.WriteLine($"exit {code}: {host.Output.Trim()}"); // the table of the note
        Assert.True(lines.Length == 1, $"one line, no stack trace:\n{host.Output}");
        Assert.Equal(bad.Exit, code);
        foreach (var fragment in bad.FirstLine)
            Assert.Contains(Resolve(fragment), lines[0]);
        Assert.DoesNotContain(Secret, host.Output);
        var logs = Path.Combine(host.WorkingDirectory, "logs");
        if (Directory.Exists(logs))
            foreach (var log in Directory.EnumerateFiles(logs))
                Assert.DoesNotContain(Secret, await File.ReadAllTextAsync(log));
    }

    /// <param name="Config">HOCON added to the service's config file.</param>
    /// <param name="Named">What the one line reporting the cause names: the setting and its value.</param>
    /// <param name="Cause">The cause, as the database or the check words it.</param>
    public sealed record ServiceBadSetting(string Url, string Config, string Named, string Cause);

    // The service does not exit on these: its program goes FATAL (SPEC §3: what no restart cures). Placeholders as above.
    public static readonly Dictionary<string, ServiceBadSetting> ServiceTable = new()
    {
        ["a notification-type the enum lacks"] = new("postgresql://{user}@{pg}/{migrated}", "crm.reminders.notification-type = BOGUS",
            "crm.reminders.notification-type = 'BOGUS'", "notificationtype enum has no label 'BOGUS'"),
        ["an unknown database"] = new("postgresql://{user}@{pg}/no_such_database", "",
            "DATABASE_URL = 'postgresql://{user}@{pg}/no_such_database'", "3D000 database \"no_such_database\" does not exist"),
        ["an unknown role with a password"] = new($"postgresql://no_such_role:{Secret}@{{pg}}/postgres", "",
            "DATABASE_URL = 'postgresql://no_such_role@{pg}/postgres'", "28000 role \"no_such_role\" does not exist"),
        ["a database without the CRM's tables"] = new("postgresql://{user}@{pg}/{empty}", "",
            "DATABASE_URL = 'postgresql://{user}@{pg}/{empty}'", "42P01 relation \"notifications\" does not exist"),
    };

    public static TheoryData<string> ServiceNames => new(ServiceTable.Keys);

    [Theory]
    [MemberData(nameof(ServiceNames))]
    public async Task Should_go_FATAL_in_service_mode_and_report_a_cause_no_restart_cures_once_naming_the_setting(string setting)
    {
        var bad = ServiceTable[setting];
        var admin = PostgresServer.Admin();
        await using var migrated = bad.Url.Contains("{migrated}") ? await PostgresServer.CreateDatabaseAsync() : null;
        await using var empty = bad.Url.Contains("{empty}") ? await EmptyDatabaseAsync() : null;
        string Resolve(string text) => text.Replace("{user}", admin.Username).Replace("{pg}", $"{admin.Host}:{admin.Port}")
            .Replace("{migrated}", migrated?.Name ?? "").Replace("{empty}", empty?.Name ?? "");
        // DEBUG, so that the retries meeting the cause show, and can be awaited.
        var (config, _) = Ports.ServiceConfig($$"""
            crm.logging.level = DEBUG
            crm.programs.reminder_worker { startsecs = 1s, startretries = 3, min-backoff = 100ms, max-backoff = 200ms }
            {{bad.Config}}
            """);
        using var host = HostProcess.Start(["--config", config], new Dictionary<string, string> { ["DATABASE_URL"] = Resolve(bad.Url) });

        var cause = Resolve(bad.Cause);
        string[] Lines() => host.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(cause, StringComparison.Ordinal)).ToArray();
        await Eventually.HoldsAsync(() => Task.FromResult(host.Output.Contains("STARTING -> FATAL") && Lines().Count(l => l.Contains(" - DEBUG - ")) >= 4),
            TimeSpan.FromSeconds(60), "FATAL, after four failed starts that met the cause", () => host.Output);

        var reported = Lines().Where(l => !l.Contains(" - DEBUG - ")).ToArray();
        output.WriteLine($"{setting}: {reported.Length} line(s) at INFO or above with the cause, {Lines().Length - reported.Length} at DEBUG:\n{string.Join('\n', reported)}");
        var line = Assert.Single(reported);
        Assert.Contains(Resolve(bad.Named), line);
        Assert.Contains("invalid configuration: ", line);
        Assert.Contains("FATAL: Exited too quickly: gave up after 4 failed starts: the same cause as reported above", host.Output);
        Assert.DoesNotContain(Secret, host.Output);
    }

    /// <summary>A database with nothing in it: not the CRM's.</summary>
    private static async Task<TestDatabase> EmptyDatabaseAsync()
    {
        var name = PostgresServer.NewName();
        await PostgresServer.ExecuteAsync(PostgresServer.Admin(), $"CREATE DATABASE {name}");
        return new TestDatabase(name, new Npgsql.NpgsqlConnectionStringBuilder(PostgresServer.Admin().ConnectionString) { Database = name });
    }

    private static bool Uses(BadSetting bad, string placeholder) =>
        bad.Args.Concat(bad.Env?.Values.AsEnumerable() ?? []).Append(bad.Config ?? "").Concat(bad.FirstLine).Any(text => text.Contains(placeholder, StringComparison.Ordinal));
}
