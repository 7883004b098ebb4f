using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Crm.Ctl;

/// <summary>
/// What crmctl needs from its environment to talk to the host, besides the URL: the token (CRM_ADMIN_TOKEN, or the
/// file CRM_ADMIN_TOKEN_FILE names, as the host reads it) and, for an https:// URL, the CA to verify the host's
/// certificate against (CRM_ADMIN_CA, a PEM file; unset: the machine's trusted roots).
/// </summary>
public sealed class AdminConnection
{
    public const string TokenFileVariable = "CRM_ADMIN_TOKEN_FILE";
    public const string CaVariable = "CRM_ADMIN_CA";

    public string? Token { get; }
    public ServerCertificateCheck Certificates { get; }

    private AdminConnection(string? token, ServerCertificateCheck certificates) => (Token, Certificates) = (token, certificates);

    /// <summary>Throws <see cref="ArgumentException"/> naming the variable at fault (crmctl exits 2, usage).</summary>
    public static AdminConnection From(IReadOnlyDictionary<string, string?> environment)
    {
        var token = environment.GetValueOrDefault(CtlApp.TokenVariable);
        if (environment.GetValueOrDefault(TokenFileVariable) is { Length: > 0 } tokenFile)
        {
            if (!string.IsNullOrEmpty(token)) throw new ArgumentException($"{CtlApp.TokenVariable} and {TokenFileVariable} are both set: set one of them");
            token = Read(TokenFileVariable, tokenFile).TrimEnd('\r', '\n');
            if (token.Trim().Length == 0) throw new ArgumentException($"{TokenFileVariable}={tokenFile}: the file is empty");
        }
        X509Certificate2Collection? authorities = null;
        var caFile = environment.GetValueOrDefault(CaVariable);
        if (!string.IsNullOrEmpty(caFile))
        {
            authorities = [];
            try
            {
                authorities.ImportFromPem(Read(CaVariable, caFile));
            }
            catch (CryptographicException e)
            {
                throw new ArgumentException($"{CaVariable}={caFile}: not a PEM certificate: {e.Message}");
            }
            if (authorities.Count == 0) throw new ArgumentException($"{CaVariable}={caFile}: no PEM certificate in it");
        }
        return new AdminConnection(string.IsNullOrEmpty(token) ? null : token, new ServerCertificateCheck(authorities, caFile));
    }

    /// <summary>No proxy: the listener is local or beside the host, and a container's HTTP_PROXY must not capture it.</summary>
    public HttpMessageHandler Handler() => new SocketsHttpHandler
    {
        UseProxy = false,
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Certificates.Validate },
    };

    private static string Read(string variable, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new ArgumentException($"{variable}={path}: cannot be read: {e.Message}");
        }
    }
}

/// <summary>
/// The host's certificate must name the host of CRM_ADMIN_URL and chain to CRM_ADMIN_CA when it is set (only to it:
/// the machine's roots are not consulted then), else to the machine's roots. <see cref="Problem"/> says why one was
/// refused, for crmctl's message.
/// </summary>
public sealed class ServerCertificateCheck(X509Certificate2Collection? authorities, string? source)
{
    public string? Problem { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            Problem = "the host sent no certificate";
            return false;
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            Problem = "the host's certificate does not name the host of " + CtlApp.UrlVariable;
            return false;
        }
        if (authorities is null)
        {
            if (errors == SslPolicyErrors.None) return true;
            Problem = $"the host's certificate is not trusted by this machine ({Statuses(chain)}): set {AdminConnection.CaVariable} to the PEM file of the CA that signed it";
            return false;
        }
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.AddRange(authorities);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck; // a private CA publishes no revocation list
        if (chain is not null) foreach (var element in chain.ChainElements) custom.ChainPolicy.ExtraStore.Add(element.Certificate); // the intermediates the host sent
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        if (custom.Build(leaf)) return true;
        Problem = $"the host's certificate is not signed by the CA of {AdminConnection.CaVariable}={source} ({Statuses(custom)})";
        return false;
    }

    private static string Statuses(X509Chain? chain) =>
        chain is null || chain.ChainStatus.Length == 0 ? "no chain"
            : string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim().TrimEnd('.')).Distinct());
}
