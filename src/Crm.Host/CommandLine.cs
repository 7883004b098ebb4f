using Crm.Actors.Configuration;

namespace Crm.Host;

/// <summary>The host's arguments (SPEC §2).</summary>
public sealed record CommandLine(string? ConfigPath, bool Once, bool Migrate, bool Demo)
{
    public const string Usage = "usage: Crm.Host [--config FILE] [--once | --migrate] [--demo]";

    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        var line = new CommandLine(null, false, false, false);
        for (var i = 0; i < args.Count; i++)
        {
            line = args[i] switch
            {
                "--config" when i + 1 < args.Count => line with { ConfigPath = args[++i] },
                "--config" => throw new ConfigurationException("--config", null, "expects a file name"),
                "--once" => line with { Once = true },
                "--migrate" => line with { Migrate = true },
                "--demo" => line with { Demo = true },
                var other => throw new ConfigurationException("argument", other, $"unknown; {Usage}"),
            };
        }
        if (line is { Once: true, Migrate: true })
            throw new ConfigurationException("argument", "--once --migrate", "choose one of them");
        if (line.ConfigPath is { } path && !File.Exists(path))
            throw new ConfigurationException("--config", path, "no such file");
        return line;
    }
}
