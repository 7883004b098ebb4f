using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Crm.Tests.Support;

/// <summary>
/// A throwaway certificate authority and a server certificate it signs, for 127.0.0.1 and localhost, written as PEM
/// files in a folder of their own (what an operator would give crm.admin.tls and CRM_ADMIN_CA).
/// </summary>
public sealed class TestCertificates
{
    public required string Folder { get; init; }
    public required string CaPem { get; init; }
    public required string CertificatePem { get; init; }
    public required string KeyPem { get; init; }

    public static TestCertificates Create(string name = "test")
    {
        var folder = Directory.CreateTempSubdirectory("crm-tls-").FullName;
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN=CrmActors {name} CA", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using var server = serverRequest.Create(ca, now.AddMinutes(-5), now.AddDays(1), RandomNumberGenerator.GetBytes(12));

        var certificates = new TestCertificates
        {
            Folder = folder,
            CaPem = Path.Combine(folder, "ca.pem"),
            CertificatePem = Path.Combine(folder, "server.pem"),
            KeyPem = Path.Combine(folder, "server.key"),
        };
        File.WriteAllText(certificates.CaPem, ca.ExportCertificatePem());
        File.WriteAllText(certificates.CertificatePem, server.ExportCertificatePem());
        File.WriteAllText(certificates.KeyPem, serverKey.ExportPkcs8PrivateKeyPem());
        return certificates;
    }

    /// <summary>The HOCON that puts this certificate on the admin listener.</summary>
    public string Hocon => $"crm.admin.tls {{ certificate = \"{CertificatePem}\", key = \"{KeyPem}\" }}";
}
