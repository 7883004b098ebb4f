using Crm.Actors.Configuration;
using Npgsql;

namespace Crm.Actors.Storage;

/// <summary>
/// Reads the CRM's <c>DATABASE_URL</c> (<c>postgresql://user:password@host:port/db</c>, also SQLAlchemy's
/// <c>postgresql+driver://</c>) into an Npgsql connection string.
/// </summary>
public static class DatabaseUrl
{
    public static NpgsqlConnectionStringBuilder Parse(string url, string key)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
            throw new ConfigurationException(key, Redact(url), WhyNotAUrl(url));
        var scheme = uri.Scheme.Split('+')[0];
        if (scheme is not ("postgresql" or "postgres"))
            throw new ConfigurationException(key, Redact(url), $"unsupported scheme '{uri.Scheme}': expected postgresql://");
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || string.IsNullOrEmpty(uri.Host))
            throw new ConfigurationException(key, Redact(url), "the URL must name a host and a database");

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.Port switch
            {
                -1 => 5432, // none given
                0 => throw new ConfigurationException(key, Redact(url), "the port '0' is not a number from 1 to 65535"),
                var port => port,
            },
            Database = database,
            ApplicationName = "crm-actors",
            // Npgsql tries GSS encryption first by default: without a Kerberos library every connection logs a
            // failure to load it. The CRM logs in with a password; ?gssencmode=prefer turns it back on.
            GssEncryptionMode = GssEncryptionMode.Disable,
        };
        var userInfo = uri.UserInfo.Split(':', 2);
        if (userInfo[0].Length > 0) builder.Username = Uri.UnescapeDataString(userInfo[0]);
        if (userInfo.Length == 2) builder.Password = Uri.UnescapeDataString(userInfo[1]);

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (name, value) = (pair.Split('=', 2)[0], pair.Contains('=') ? Uri.UnescapeDataString(pair.Split('=', 2)[1]) : "");
            switch (name)
            {
                case "sslmode":
                    builder.SslMode = value switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw new ConfigurationException(key, Redact(url), $"unknown sslmode '{value}'"),
                    };
                    break;
                case "gssencmode":
                    builder.GssEncryptionMode = value switch
                    {
                        "disable" => GssEncryptionMode.Disable,
                        "prefer" => GssEncryptionMode.Prefer,
                        "require" => GssEncryptionMode.Require,
                        _ => throw new ConfigurationException(key, Redact(url), $"unknown gssencmode '{value}'"),
                    };
                    break;
                case "application_name": builder.ApplicationName = value; break;
                case "connect_timeout": builder.Timeout = ConnectTimeout(value, url, key); break;
                default: throw new ConfigurationException(key, Redact(url), $"unsupported URL parameter '{name}'");
            }
        }
        return builder;
    }

    // Npgsql's limit (TimeoutLimit, internal): its builder throws above it.
    private const int TimeoutLimit = 1024;

    /// <summary>Seconds, as libpq reads it: 0 waits for ever.</summary>
    private static int ConnectTimeout(string value, string url, string key) =>
        int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds)
        && seconds <= TimeoutLimit
            ? seconds
            : throw new ConfigurationException(key, Redact(url),
                $"connect_timeout '{value}' is not a whole number of seconds from 0 to {TimeoutLimit}");

    /// <summary>What is wrong with a URL that does not parse; the port is the usual culprit.</summary>
    private static string WhyNotAUrl(string url)
    {
        const string expected = "expected postgresql://user:password@host:port/database";
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return expected;
        // The authority is after the last '@' (a password may hold one) and before the path.
        var rest = url[(scheme + 3)..];
        var hostStart = rest.LastIndexOf('@') + 1;
        var hostEnd = rest.IndexOfAny(['/', '?', '#'], hostStart);
        var authority = hostEnd < 0 ? rest[hostStart..] : rest[hostStart..hostEnd];
        var colon = authority.LastIndexOf(':');
        if (colon < 0 || authority.EndsWith(']')) return expected;
        var port = authority[(colon + 1)..];
        return int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number)
               && number is >= 1 and <= 65535
            ? expected
            : $"the port '{port}' is not a number from 1 to 65535";
    }

    /// <summary>The URL with its password replaced, for messages and logs; also when it does not parse.</summary>
    public static string Redact(string url) => Secrets.Redact(url);

    /// <summary>Host, port, database and user: what an operator needs to recognise a connection, nothing secret.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
}
