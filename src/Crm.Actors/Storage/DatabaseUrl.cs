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
            throw new ConfigurationException(key, Redact(url), "expected postgresql://user:password@host:port/database");
        var scheme = uri.Scheme.Split('+')[0];
        if (scheme is not ("postgresql" or "postgres"))
            throw new ConfigurationException(key, Redact(url), $"unsupported scheme '{uri.Scheme}': expected postgresql://");
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length == 0 || string.IsNullOrEmpty(uri.Host))
            throw new ConfigurationException(key, Redact(url), "the URL must name a host and a database");

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
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
                case "connect_timeout": builder.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                default: throw new ConfigurationException(key, Redact(url), $"unsupported URL parameter '{name}'");
            }
        }
        return builder;
    }

    /// <summary>The URL with its password replaced, for messages and logs.</summary>
    public static string Redact(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !uri.UserInfo.Contains(':')) return url;
        var user = uri.UserInfo.Split(':', 2)[0];
        return url.Replace(uri.UserInfo, user + ":***", StringComparison.Ordinal);
    }

    /// <summary>Host, port, database and user: what an operator needs to recognise a connection, nothing secret.</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) =>
        $"postgresql://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}";
}
