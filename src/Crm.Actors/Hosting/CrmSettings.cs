using System.Globalization;
using Akka.Configuration;
using Crm.Actors.Configuration;
using Crm.Actors.Processes;
using Crm.Actors.Domain;
using Crm.Actors.Storage;
using Crm.Actors.Supervision;
using ConfigurationException = Crm.Actors.Configuration.ConfigurationException;

namespace Crm.Actors.Hosting;

/// <param name="Name">This instance's name: its journal, events and intent; clustered, the NODE of its NAME:NODE processes.</param>
public sealed record NodeSettings(string Name);

/// <param name="SeedNodes">akka.tcp://crm-actors@HOST:PORT addresses to join.</param>
public sealed record ClusterSettings(bool Enabled, string Hostname, int Port, IReadOnlyList<string> SeedNodes)
{
    public const string SystemName = "crm-actors";
    public static ClusterSettings Off { get; } = new(false, "127.0.0.1", 4053, []);
}

/// <param name="DirectoryKey">Where <paramref name="Directory"/> came from (CRM_LOG_DIR or crm.logging.dir), for messages.</param>
public sealed record LoggingSettings(string Directory, long MaxBytes, int Backups, string Level, int KeptInMemory, string DirectoryKey = "crm.logging.dir");

/// <summary>crm.admin.tls: the listener's certificate and its private key, PEM files (paths as configured).</summary>
public sealed record AdminTlsSettings(string Certificate, string Key)
{
    public const string CertificateKey = "crm.admin.tls.certificate";
    public const string KeyKey = "crm.admin.tls.key";
}

/// <param name="Host">The listener's address: an IP address, or localhost.</param>
public sealed record AdminSettings(string Host, int Port)
{
    /// <summary>HTTPS with this certificate; null: plain HTTP.</summary>
    public AdminTlsSettings? Tls { get; init; }

    /// <summary>CRM_ADMIN_TOKEN (or the file CRM_ADMIN_TOKEN_FILE names); null when unset.</summary>
    public SecretText? Token { get; init; }

    public string Scheme => Tls is null ? "http" : "https";

    public bool IsLoopback => Host == "localhost" || (System.Net.IPAddress.TryParse(Host, out var ip) && System.Net.IPAddress.IsLoopback(ip));

    /// <summary>As crm.admin.bind reads it: ADDRESS:PORT, an IPv6 address in brackets.</summary>
    public string Bind => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>
/// Every setting of the host itself, validated once at start: a bad value never reaches an actor. Each program
/// reads its own from <see cref="Hocon"/> when it is defined (its registration), at start too.
/// </summary>
public sealed record CrmSettings(
    DatabaseSettings Database,
    IReadOnlyDictionary<string, ProgramSettings> Programs,
    LoggingSettings Logging,
    AdminSettings Admin,
    Config Hocon,
    NodeSettings Node,
    ClusterSettings Cluster)
{
    public static readonly IReadOnlyList<string> LogLevels = ["DEBUG", "INFO", "WARNING", "ERROR"];

    /// <summary>crm.programs.default: the supervision keys of a program that has no section of its own (or leaves some out).</summary>
    public ProgramSettings DefaultProgram { get; init; } = ProgramSettings.Default;

    /// <summary><c>crm.supervisord-conf</c>: a supervisord.conf whose programs the host runs (null: none).</summary>
    public string? SupervisordConf { get; init; }

    /// <summary>A program's supervision settings: its section's, the rest from crm.programs.default.</summary>
    public ProgramSettings SupervisionOf(string program) => Programs.GetValueOrDefault(program) ?? DefaultProgram;

    /// <summary>The documented defaults, <c>hocon/crm.conf</c>, as embedded in this assembly.</summary>
    public static Config Defaults()
    {
        using var stream = typeof(CrmSettings).Assembly.GetManifestResourceStream("crm.conf")
            ?? throw new InvalidOperationException("crm.conf is not embedded");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }

    /// <summary>Defaults, then the file at <paramref name="path"/> (none: the defaults alone), then the environment.</summary>
    public static CrmSettings LoadFile(string? path, IReadOnlyDictionary<string, string?> environment)
    {
        if (path is null) return Load(null, environment);
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException("--config", path, $"cannot be read: {e.Message}");
        }
        return Load(text, environment, path);
    }

    /// <summary>
    /// Defaults, then <paramref name="overrides"/> (a --config file's text, from <paramref name="source"/>) over
    /// them, then the environment. The file must be well-formed HOCON, and every key it sets under <c>crm</c> a
    /// documented one.
    /// </summary>
    public static CrmSettings Load(string? overrides, IReadOnlyDictionary<string, string?> environment, string? source = null)
    {
        var defaults = Defaults();
        if (string.IsNullOrWhiteSpace(overrides)) return FromConfig(defaults, environment);

        source ??= "(file)";
        if (HoconText.Problem(overrides) is var (line, problem))
            throw new ConfigurationException("--config", source, $"not valid HOCON: line {line}: {problem}");
        Config file;
        try
        {
            file = ConfigurationFactory.ParseString(overrides);
        }
        catch (Exception e) when (e is not ConfigurationException)
        {
            throw new ConfigurationException("--config", source, $"not valid HOCON: {e.Message}");
        }
        KnownKeys.Check(file, defaults, ProcessProgramKeys.Hocon);
        return FromConfig(file.WithFallback(defaults), environment);
    }

    public static CrmSettings FromConfig(Config config, IReadOnlyDictionary<string, string?> environment)
    {
        environment = SecretFiles.Resolve(environment, SecretFiles.HostSecrets); // DATABASE_URL_FILE, CRM_ADMIN_TOKEN_FILE
        var read = new ConfigReader(config);
        var envUrl = environment.GetValueOrDefault("DATABASE_URL");
        var (url, urlKey) = string.IsNullOrWhiteSpace(envUrl)
            ? (read.String("crm.database.url", allowEmpty: true), "crm.database.url")
            : (envUrl, "DATABASE_URL");
        var database = new DatabaseSettings(url.Length == 0 ? null : url, urlKey, read.String("crm.database.sqlite-path"));

        var defaults = ReadProgram(read, config, ProgramSettings.DefaultSection);
        var programs = new Dictionary<string, ProgramSettings>();
        foreach (var name in ReadProgramNames(config).Where(name => name != ProgramSettings.DefaultSection))
            programs[name] = ReadProgram(read, config, name);

        var (logDir, logDirKey) = environment.GetValueOrDefault("CRM_LOG_DIR") is { Length: > 0 } dir
            ? (dir, "CRM_LOG_DIR")
            : (read.String("crm.logging.dir"), "crm.logging.dir");
        var logging = new LoggingSettings(
            logDir,
            read.Bytes("crm.logging.max-bytes", min: 1024),
            read.Int("crm.logging.backups", min: 0, max: 1000),
            read.OneOf("crm.logging.level", LogLevels),
            read.Int("crm.logging.kept-in-memory", min: 0, max: 100_000),
            logDirKey);

        var node = new NodeSettings(environment.GetValueOrDefault("CRM_NODE_NAME") is { Length: > 0 } nodeFromEnvironment
            ? NodeName(nodeFromEnvironment)
            : read.String("crm.node.name", allowEmpty: true) is { Length: > 0 } configured ? NodeName(configured) : System.Net.Dns.GetHostName());
        return new CrmSettings(database, programs, logging, ReadAdmin(read, environment), config, node, ReadCluster(read, config, environment))
        {
            DefaultProgram = defaults,
            SupervisordConf = read.String("crm.supervisord-conf", allowEmpty: true) is { Length: > 0 } conf ? conf : null,
        };
    }

    private static string NodeName(string name) =>
        name.Length <= 100 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')
            ? name
            : throw new ConfigurationException("crm.node.name", name, "expected letters, digits, '-', '_' or '.' (at most 100)");

    private static ClusterSettings ReadCluster(ConfigReader read, Config config, IReadOnlyDictionary<string, string?> environment)
    {
        var envSeeds = environment.GetValueOrDefault("CRM_CLUSTER_SEEDS");
        var (seeds, seedsKey) = string.IsNullOrWhiteSpace(envSeeds)
            ? (config.GetStringList("crm.cluster.seed-nodes") ?? [], "crm.cluster.seed-nodes")
            : (envSeeds.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries), "CRM_CLUSTER_SEEDS");
        foreach (var seed in seeds)
        {
            if (!Akka.Actor.Address.TryParse(seed, out var address) || address.Protocol != "akka.tcp"
                || address.System != ClusterSettings.SystemName || address.Host is null || address.Port is null)
                throw new ConfigurationException(seedsKey, seed, $"expected akka.tcp://{ClusterSettings.SystemName}@HOST:PORT");
        }
        var hostname = environment.GetValueOrDefault("CRM_CLUSTER_HOSTNAME") is { Length: > 0 } fromEnvironment ? fromEnvironment
            : read.String("crm.cluster.hostname", allowEmpty: true) is { Length: > 0 } configured ? configured
            : System.Net.Dns.GetHostName();
        if (Uri.CheckHostName(hostname) == UriHostNameType.Unknown)
            throw new ConfigurationException("crm.cluster.hostname", hostname, "expected a host name or an IP address");
        return new ClusterSettings(read.Bool("crm.cluster.enabled"), hostname, read.Int("crm.cluster.port", min: 1, max: 65535), seeds.ToList());
    }

    private static AdminSettings ReadAdmin(ConfigReader read, IReadOnlyDictionary<string, string?> environment)
    {
        var certificate = read.String(AdminTlsSettings.CertificateKey, allowEmpty: true);
        var key = read.String(AdminTlsSettings.KeyKey, allowEmpty: true);
        if (certificate.Length > 0 != key.Length > 0)
            throw certificate.Length == 0
                ? new ConfigurationException(AdminTlsSettings.CertificateKey, "", $"needed with {AdminTlsSettings.KeyKey} (both PEM files, or neither)")
                : new ConfigurationException(AdminTlsSettings.KeyKey, "", $"needed with {AdminTlsSettings.CertificateKey} (both PEM files, or neither)");
        return ReadBind(read.String("crm.admin.bind")) with
        {
            Tls = certificate.Length > 0 ? new AdminTlsSettings(certificate, key) : null,
            Token = SecretText.From(environment.GetValueOrDefault("CRM_ADMIN_TOKEN")),
        };
    }

    private static AdminSettings ReadBind(string bind)
    {
        var colon = bind.LastIndexOf(':');
        var host = colon > 0 ? bind[..colon].Trim('[', ']') : "";
        if (colon <= 0 || !int.TryParse(bind[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535 || !(host == "localhost" || System.Net.IPAddress.TryParse(host, out _)))
            throw new ConfigurationException("crm.admin.bind", bind, "expected ADDRESS:PORT such as 127.0.0.1:9110 or 0.0.0.0:9110");
        return new AdminSettings(host, port);
    }

    private static IEnumerable<string> ReadProgramNames(Config config) =>
        config.GetConfig("crm.programs")?.AsEnumerable().Select(pair => pair.Key).Distinct() ?? [];

    /// <summary>
    /// A program's supervision keys: those its own section <c>crm.programs.NAME</c> sets, the others from
    /// <c>crm.programs.default</c>; an error names the key the operator wrote.
    /// </summary>
    private static ProgramSettings ReadProgram(ConfigReader read, Config config, string name)
    {
        string Key(string key) => config.HasPath($"crm.programs.{name}.{key}") ? $"crm.programs.{name}.{key}" : $"crm.programs.{ProgramSettings.DefaultSection}.{key}";
        var settings = new ProgramSettings(
            read.Bool(Key("autostart")),
            // A process program's autorestart may also be supervisord's "unexpected" (on, for the exits it does not expect).
            read.Text(Key("autorestart")) == "unexpected" || read.Bool(Key("autorestart")),
            read.Duration(Key("startsecs"), allowZero: true),
            read.Int(Key("startretries"), min: 0, max: 1000),
            read.Duration(Key("stopwaitsecs")),
            read.Duration(Key("min-backoff")),
            read.Duration(Key("max-backoff")),
            read.Fraction(Key("random-factor")),
            read.OptionalDuration(Key("fatal-retry-after")),
            read.Duration(Key("outage-backoff")),
            read.Duration(Key("start-timeout")));
        if (settings.MaxBackoff < settings.MinBackoff)
            throw new ConfigurationException(Key("max-backoff"), read.Text(Key("max-backoff")), $"must not be below {Key("min-backoff")}");
        return settings;
    }
}
