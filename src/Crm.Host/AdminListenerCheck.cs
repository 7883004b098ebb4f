using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Crm.Host;

/// <summary>
/// The admin listener's address and certificate, tried before anything starts: Kestrel binds only after the actors
/// are up, and a bind failure then is a page of stack traces between start-up lines. A race after the check still
/// ends in <see cref="StartupFailure"/>, with the same words.
/// </summary>
public static class AdminListenerCheck
{
    public static void EnsureAvailable(AdminSettings admin)
    {
        if (admin.Tls is { } tls) LoadCertificate(tls).Dispose();
        var address = Address(admin);
        try
        {
            using var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // as Kestrel does on Linux
            socket.Bind(new IPEndPoint(address, admin.Port));
            socket.Listen(1);
        }
        catch (SocketException e)
        {
            throw new ConfigurationException("crm.admin.bind", admin.Bind, Problem(e.SocketErrorCode));
        }
    }

    /// <summary>Kestrel listens on crm.admin.bind only, over HTTPS when crm.admin.tls is set.</summary>
    public static IWebHostBuilder UseCrmAdminListener(this IWebHostBuilder builder, AdminSettings admin) =>
        builder.UseKestrel(kestrel => kestrel.Listen(Address(admin), admin.Port, listen =>
        {
            if (admin.Tls is { } tls) listen.UseHttps(LoadCertificate(tls));
        }));

    private static IPAddress Address(AdminSettings admin) => admin.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(admin.Host);

    /// <summary>
    /// The certificate with its private key, each file read and parsed on its own so that an error names the key
    /// at fault: a file that cannot be read, a file without a PEM certificate (or key), a key of another certificate.
    /// </summary>
    public static X509Certificate2 LoadCertificate(AdminTlsSettings tls)
    {
        var certificatePem = Read(AdminTlsSettings.CertificateKey, tls.Certificate);
        var keyPem = Read(AdminTlsSettings.KeyKey, tls.Key);
        try
        {
            using var alone = X509Certificate2.CreateFromPem(certificatePem);
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException(AdminTlsSettings.CertificateKey, tls.Certificate, $"not a PEM certificate: {e.Message}");
        }
        if (keyPem.Contains("ENCRYPTED", StringComparison.Ordinal))
            throw new ConfigurationException(AdminTlsSettings.KeyKey, tls.Key, "an encrypted private key: give it unencrypted (PKCS#8, PKCS#1 or SEC1), readable by the host only");
        try
        {
            using var key = ReadKey(keyPem);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            throw new ConfigurationException(AdminTlsSettings.KeyKey, tls.Key, $"not a PEM private key (RSA or ECDSA): {e.Message}");
        }
        try
        {
            return X509Certificate2.CreateFromPem(certificatePem, keyPem);
        }
        catch (CryptographicException e)
        {
            throw new ConfigurationException(AdminTlsSettings.KeyKey, tls.Key, $"does not match the certificate of {AdminTlsSettings.CertificateKey} ({e.Message})");
        }
    }

    private static AsymmetricAlgorithm ReadKey(string pem)
    {
        if (pem.Contains("-----BEGIN EC PRIVATE KEY-----", StringComparison.Ordinal))
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec;
        }
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            return rsa;
        }
        catch (CryptographicException) when (pem.Contains("-----BEGIN PRIVATE KEY-----", StringComparison.Ordinal))
        {
            rsa.Dispose(); // PKCS#8 holds an RSA or an EC key
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return ec;
        }
    }

    private static string Read(string key, string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigurationException(key, path, $"cannot be read: {e.Message}");
        }
    }

    public static string Problem(SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => "the port is already in use (another Crm.Host?)",
        SocketError.AddressNotAvailable => "the address is not one of this machine's",
        SocketError.AccessDenied => "not allowed to listen there (ports below 1024 need privileges)",
        var other => $"cannot listen there ({other})",
    };
}
