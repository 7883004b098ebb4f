using Crm.Actors.Configuration;

namespace Crm.Host;

/// <summary>The host's arguments (SPEC §2).</summary>
public sealed record CommandLine(string? ConfigPath, bool Once, bool Migrate, bool Demo, bool Help = false, string? SupervisordConf = null)
{
    public const string Usage = "usage: Crm.Host [--config FILE] [--supervisord-conf FILE] [--once | --migrate] [--demo] [--help]";

    /// <summary>What <c>--help</c> prints (SPEC §2).</summary>
    public const string HelpText = $"""
        {Usage}

        The reminder service of the CRM and the supervisor of its programs (README.md, docs/SPEC.md).

          (no option)      run the service until SIGTERM: PostgreSQL with DATABASE_URL, else the embedded SQLite file
          --config FILE    merge the HOCON FILE over the defaults (every key: hocon/crm.conf)
          --supervisord-conf FILE
                           run the [program:x] sections of a supervisord.conf as supervisord would (SPEC §11):
                           a built-in program's section gives it its supervision keys, any other runs its command
          --once           process every due reminder, then exit (what cron would call)
          --migrate        add what the service needs to the CRM's schema, idempotently, then exit
          --demo           the embedded database, seeded with interactions coming due over the next minutes
          --help           this text

        Exit codes: 0 done, 1 failure at run time, 2 invalid configuration or arguments.
        Environment: DATABASE_URL, CRM_ADMIN_TOKEN (each also as NAME_FILE, a file holding it), CRM_LOG_DIR,
        CRM_NODE_NAME, CRM_CLUSTER_SEEDS, SENTRY_DSN.
        The operator's CLI is crmctl (./crmctl from a clone): crmctl status, crmctl help.

        """;

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var line = new CommandLine(null, false, false, false);
        for (var i = 0; i < args.Count; i++)
        {
            line = args[i] switch
            {
                "--config" when i + 1 < args.Count => line with { ConfigPath = args[++i] },
                "--config" => throw new ConfigurationException("--config", null, "expects a file name"),
                "--supervisord-conf" when i + 1 < args.Count => line with { SupervisordConf = args[++i] },
                "--supervisord-conf" => throw new ConfigurationException("--supervisord-conf", null, "expects a file name"),
                "--once" => line with { Once = true },
                "--migrate" => line with { Migrate = true },
                "--demo" => line with { Demo = true },
                "--help" or "-h" => line with { Help = true },
                var other => throw new ConfigurationException("argument", other, $"unknown; {Usage}"),
            };
        }
        if (line.Help) return line; // whatever else was given: help is asked for
        if (line is { Once: true, Migrate: true })
            throw new ConfigurationException("argument", "--once --migrate", "choose one of them");
        if (line.ConfigPath is { } path && !File.Exists(path))
            throw new ConfigurationException("--config", path, "no such file");
        if (line.SupervisordConf is { } conf && !File.Exists(conf))
            throw new ConfigurationException("--supervisord-conf", conf, "no such file");
        return line;
    }
}
