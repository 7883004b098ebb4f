using System.Net;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;
using Crm.Ctl;
using Crm.Host;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>
/// crm.admin.tls on the admin listener (built in-process as Program.cs builds it) and crmctl verifying it against
/// CRM_ADMIN_CA: a throwaway CA and server certificate made here with CertificateRequest.
/// </summary>
public class AdminTlsTests
{
    private static async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(IReadOnlyDictionary<string, string?> environment, params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await CtlApp.RunAsync(args, stdout, stderr, environment);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Should_name_the_tls_key_at_fault_when_a_file_cannot_be_read_is_not_pem_or_does_not_match()
    {
        var good = TestCertificates.Create();
        var other = TestCertificates.Create("other");
        using (var certificate = AdminListenerCheck.LoadCertificate(new AdminTlsSettings(good.CertificatePem, good.KeyPem)))
            Assert.True(certificate.HasPrivateKey);

        ConfigurationException Fails(string certificate, string key) =>
            Assert.Throws<ConfigurationException>(() => AdminListenerCheck.LoadCertificate(new AdminTlsSettings(certificate, key)).Dispose());
        var missing = Path.Combine(good.Folder, "missing.pem");
        Assert.Equal(AdminTlsSettings.CertificateKey, Fails(missing, good.KeyPem).Key);
        Assert.Contains("cannot be read", Fails(missing, good.KeyPem).Message);
        Assert.Equal(AdminTlsSettings.KeyKey, Fails(good.CertificatePem, missing).Key);
        Assert.Equal(AdminTlsSettings.CertificateKey, Fails(good.KeyPem, good.KeyPem).Key); // a key where the certificate should be
        Assert.Equal(AdminTlsSettings.KeyKey, Fails(good.CertificatePem, good.CertificatePem).Key);
        var mismatch = Fails(good.CertificatePem, other.KeyPem);
        Assert.Equal(AdminTlsSettings.KeyKey, mismatch.Key);
        Assert.Contains("does not match the certificate of crm.admin.tls.certificate", mismatch.Message);
        Assert.DoesNotContain("PRIVATE KEY", mismatch.Message); // the path is named, never the key's text
    }

    [Fact]
    public async Task Should_serve_https_and_crmctl_should_pass_with_the_right_CA_and_refuse_a_wrong_one()
    {
        var certificates = TestCertificates.Create();
        var stranger = TestCertificates.Create("stranger");
        await using var listener = await AdminAccessTests.Listener.StartAsync("127.0.0.1", new Dictionary<string, string?>(), certificates.Hocon);
        Assert.Equal("https", listener.Scheme);
        var url = $"https://127.0.0.1:{listener.Port}";
        Dictionary<string, string?> Environment(string? ca) => new() { [CtlApp.UrlVariable] = url, [AdminConnection.CaVariable] = ca };

        await Eventually.HoldsAsync(async () => (await CtlAsync(Environment(certificates.CaPem), "health")).ExitCode == 0,
            TimeSpan.FromSeconds(20), "crmctl health over https with the right CA");
        var status = await CtlAsync(Environment(certificates.CaPem), "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("RUNNING", status.Stdout);
        var byName = new Dictionary<string, string?> { [CtlApp.UrlVariable] = $"https://localhost:{listener.Port}", [AdminConnection.CaVariable] = certificates.CaPem };
        Assert.Equal((0, "healthy\n", ""), await CtlAsync(byName, "health"));

        var wrong = await CtlAsync(Environment(stranger.CaPem), "status");
        Assert.Equal(ExitCodes.UnknownOrUnreachable, wrong.ExitCode);
        Assert.Equal("", wrong.Stdout);
        Assert.StartsWith($"crmctl: cannot reach {url} securely: the host's certificate is not signed by the CA of CRM_ADMIN_CA={stranger.CaPem} (", wrong.Stderr);

        var untrusted = await CtlAsync(Environment(null), "status");
        Assert.Equal(ExitCodes.UnknownOrUnreachable, untrusted.ExitCode);
        Assert.Contains("the host's certificate is not trusted by this machine", untrusted.Stderr);
        Assert.Contains("set CRM_ADMIN_CA to the PEM file of the CA that signed it", untrusted.Stderr);

        // A name the certificate does not hold is refused even from the right CA.
        var address = AdminAccessTests.NonLoopbackAddress();
        if (address is null) return; // the listener is on loopback; no other name reaches it
        await using var everywhere = await AdminAccessTests.Listener.StartAsync("0.0.0.0", new Dictionary<string, string?>(), certificates.Hocon);
        var misnamed = await CtlAsync(new Dictionary<string, string?> { [CtlApp.UrlVariable] = $"https://{address}:{everywhere.Port}", [AdminConnection.CaVariable] = certificates.CaPem }, "health");
        Assert.Equal(ExitCodes.UnknownOrUnreachable, misnamed.ExitCode);
        Assert.Contains("the host's certificate does not name the host of CRM_ADMIN_URL", misnamed.Stderr);
    }

    [Fact]
    public async Task Should_answer_nothing_over_plain_http_on_a_tls_listener()
    {
        var certificates = TestCertificates.Create();
        await using var listener = await AdminAccessTests.Listener.StartAsync("127.0.0.1", new Dictionary<string, string?>(), certificates.Hocon);
        var run = await CtlAsync(new Dictionary<string, string?> { [CtlApp.UrlVariable] = $"http://127.0.0.1:{listener.Port}" }, "status");
        Assert.Equal(ExitCodes.UnknownOrUnreachable, run.ExitCode);
        Assert.StartsWith($"crmctl: cannot reach http://127.0.0.1:{listener.Port}", run.Stderr);
    }

    [Theory]
    [InlineData("CRM_ADMIN_CA", "missing.pem", "crmctl: CRM_ADMIN_CA={0}: cannot be read")]
    [InlineData("CRM_ADMIN_CA", "empty.pem", "crmctl: CRM_ADMIN_CA={0}: no PEM certificate in it")]
    [InlineData("CRM_ADMIN_TOKEN_FILE", "missing", "crmctl: CRM_ADMIN_TOKEN_FILE={0}: cannot be read")]
    [InlineData("CRM_ADMIN_TOKEN_FILE", "empty.pem", "crmctl: CRM_ADMIN_TOKEN_FILE={0}: the file is empty")]
    public async Task Should_exit_2_naming_a_crmctl_variable_whose_file_cannot_serve(string variable, string file, string message)
    {
        var folder = Directory.CreateTempSubdirectory("crm-ctl-").FullName;
        File.WriteAllText(Path.Combine(folder, "empty.pem"), "\n");
        var path = Path.Combine(folder, file);
        var run = await CtlAsync(new Dictionary<string, string?> { [variable] = path }, "status");
        Assert.Equal(ExitCodes.Usage, run.ExitCode);
        Assert.StartsWith(string.Format(System.Globalization.CultureInfo.InvariantCulture, message, path), run.Stderr);
    }

    [Fact]
    public async Task Should_send_the_token_read_from_CRM_ADMIN_TOKEN_FILE_and_refuse_it_beside_CRM_ADMIN_TOKEN()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("crm-ctl-").FullName, "token");
        File.WriteAllText(file, "t0ken-in-a-file\n");
        await using var listener = await AdminAccessTests.Listener.StartAsync("0.0.0.0", new Dictionary<string, string?> { ["CRM_ADMIN_TOKEN"] = "t0ken-in-a-file" });
        var url = $"http://127.0.0.1:{listener.Port}";
        await Eventually.HoldsAsync(async () => (await CtlAsync(new Dictionary<string, string?> { [CtlApp.UrlVariable] = url, [AdminConnection.TokenFileVariable] = file }, "status")).ExitCode == 0,
            TimeSpan.FromSeconds(20), "crmctl status with the token from its file");
        var refused = await CtlAsync(new Dictionary<string, string?> { [CtlApp.UrlVariable] = url }, "status");
        Assert.Equal((1, "", "crmctl: a valid bearer token is required (set CRM_ADMIN_TOKEN)\n"), refused);
        var both = await CtlAsync(new Dictionary<string, string?> { [CtlApp.UrlVariable] = url, [AdminConnection.TokenFileVariable] = file, [CtlApp.TokenVariable] = "x" }, "status");
        Assert.Equal((2, "", "crmctl: CRM_ADMIN_TOKEN and CRM_ADMIN_TOKEN_FILE are both set: set one of them\n"), both);
    }
}
