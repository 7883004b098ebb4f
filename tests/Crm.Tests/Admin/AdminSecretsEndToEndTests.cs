using System.Net;
using System.Net.Http.Headers;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>
/// The real Crm.Host and crmctl processes: secrets read from files (CRM_ADMIN_TOKEN_FILE, DATABASE_URL_FILE) and
/// never shown, the admin listener beyond loopback and over TLS, and each bad setting of them ending in exit 2
/// naming it (SPEC §5, §6, §7).
/// </summary>
[Trait("Category", "Integration")]
public class AdminSecretsEndToEndTests
{
    private const string Token = "Tk-5ecret-from-a-file";
    private const string Password = "Pw-5ecret-from-a-file";

    private static string FileWith(string text, string name = "secret")
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-secret-").FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public async Task Should_read_the_token_and_DATABASE_URL_from_files_and_show_neither_in_output_logs_metrics_or_any_answer()
    {
        await using var db = await PostgresServer.CreateDatabaseAsync();
        await db.SeedBacklogAsync(due: 3);
        // The test server trusts loopback: the password is carried, never checked, and must never show.
        var url = db.Url.Replace("postgresql://postgres@", $"postgresql://postgres:{Password}@", StringComparison.Ordinal);
        Assert.Contains(Password, url);
        var port = Ports.Free();
        var config = Ports.ConfigFile($"{AdminEndpointTests.Fast}\ncrm.admin.bind = \"0.0.0.0:{port}\"\n");
        using var host = HostProcess.Start(["--config", config],
            new Dictionary<string, string> { ["DATABASE_URL_FILE"] = FileWith(url + "\n"), ["CRM_ADMIN_TOKEN_FILE"] = FileWith(Token + "\n") });
        using var http = new HttpClient { BaseAddress = new Uri($"http://{AdminAccessTests.NonLoopbackAddress() ?? IPAddress.Loopback}:{port}") };
        await Eventually.HoldsAsync(async () =>
        {
            try { return (await http.GetAsync("/health/worker")).StatusCode == HttpStatusCode.OK; }
            catch (HttpRequestException) { return false; }
        }, TimeSpan.FromSeconds(60), "the worker is healthy on the database of DATABASE_URL_FILE", () => host.Output);

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/programs")).StatusCode);
        var answers = new List<string> { await http.GetStringAsync("/metrics") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token); // the token of CRM_ADMIN_TOKEN_FILE
        await Eventually.HoldsAsync(async () => (await http.GetStringAsync("/api/scans")).Contains("\"written\":3"),
            TimeSpan.FromSeconds(30), "a scan wrote the 3 due reminders", () => host.Output);
        foreach (var path in new[] { "/", "/dashboard.js", "/panels/reminder_worker.js", "/api/programs", "/api/programs/reminder_worker", "/api/events",
                     "/api/logs/reminder_worker", "/api/logs/reminder_worker?stream=stderr", "/api/logs/peek?lines=500", "/api/actors", "/api/verbs",
                     "/api/pid", "/api/cluster", "/api/scans", "/api/lateness", "/health/ready", "/health/worker", "/health/programs/reminder_worker" })
        {
            using var response = await http.GetAsync(path);
            Assert.True(response.IsSuccessStatusCode, $"{path}: {response.StatusCode}");
            answers.Add(await response.Content.ReadAsStringAsync());
        }
        answers.Add(await (await http.PostAsync("/api/reread", null)).Content.ReadAsStringAsync());
        var ctl = await HostProcess.CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = $"http://127.0.0.1:{port}", ["CRM_ADMIN_TOKEN_FILE"] = FileWith(Token) }, "status");
        Assert.Equal(0, ctl.ExitCode);
        answers.Add(ctl.Stdout + ctl.Stderr);

        await host.TerminateAsync();
        Assert.Equal(0, await host.WaitAsync(TimeSpan.FromSeconds(60)));
        var logs = Directory.GetFiles(Path.Combine(host.WorkingDirectory, "logs")).Select(File.ReadAllText).ToList();
        Assert.NotEmpty(logs);
        foreach (var text in answers.Concat(logs).Append(host.Output))
        {
            Assert.DoesNotContain(Token, text);
            Assert.DoesNotContain(Password, text);
        }
        Assert.Contains("Admin listener on http://0.0.0.0:", host.Output);
        Assert.Contains("over plain HTTP: CRM_ADMIN_TOKEN and the dashboard's session travel in clear", host.Output);
    }

    [Fact]
    public async Task Should_serve_https_to_crmctl_with_the_CA_of_CRM_ADMIN_CA_and_refuse_a_wrong_CA()
    {
        var certificates = TestCertificates.Create();
        var stranger = TestCertificates.Create("stranger");
        var (config, port) = Ports.ServiceConfig(certificates.Hocon);
        using var host = HostProcess.Start(["--demo", "--config", config]);
        var url = $"https://127.0.0.1:{port}";
        Task<(int ExitCode, string Stdout, string Stderr)> Ctl(string ca, params string[] args) =>
            HostProcess.CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = url, ["CRM_ADMIN_CA"] = ca }, args);
        await Eventually.HoldsAsync(async () => (await Ctl(certificates.CaPem, "health")).ExitCode == 0, TimeSpan.FromSeconds(90),
            "crmctl health over https", () => host.Output);

        var status = await Ctl(certificates.CaPem, "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Matches(@"^reminder_worker +RUNNING +pid \d+", status.Stdout);
        var wrong = await Ctl(stranger.CaPem, "status");
        Assert.Equal(4, wrong.ExitCode);
        Assert.StartsWith($"crmctl: cannot reach {url} securely: the host's certificate is not signed by the CA of CRM_ADMIN_CA={stranger.CaPem}", wrong.Stderr);
        Assert.Contains($"Admin listener on https://127.0.0.1:{port}", host.Output);
    }

    public static TheoryData<string, string> BadSecrets => new()
    {
        { "token file missing", "CRM_ADMIN_TOKEN_FILE = '{missing}': cannot be read" },
        { "token file empty", "CRM_ADMIN_TOKEN_FILE = '{empty}': the file is empty" },
        { "token both ways", "CRM_ADMIN_TOKEN_FILE = '{token}': CRM_ADMIN_TOKEN is set as well: set one of them, not both" },
        { "database url file missing", "DATABASE_URL_FILE = '{missing}': cannot be read" },
        { "database url both ways", "DATABASE_URL_FILE = '{url}': DATABASE_URL is set as well: set one of them, not both" },
        { "tls certificate missing", "crm.admin.tls.certificate = '{missing}': cannot be read" },
        { "tls key of another certificate", "crm.admin.tls.key = '{otherKey}': does not match the certificate of crm.admin.tls.certificate" },
        { "tls key without certificate", "crm.admin.tls.certificate = '': needed with crm.admin.tls.key" },
    };

    [Theory]
    [MemberData(nameof(BadSecrets))]
    public async Task Should_exit_2_naming_the_secret_or_tls_setting_that_cannot_serve(string @case, string firstLine)
    {
        var certificates = TestCertificates.Create();
        var other = TestCertificates.Create("other");
        var missing = Path.Combine(certificates.Folder, "missing");
        var empty = FileWith("\n");
        var token = FileWith(Token);
        var url = FileWith($"postgresql://postgres:{Password}@127.0.0.1:1/crm");
        var (environment, hocon) = @case switch
        {
            "token file missing" => (new Dictionary<string, string> { ["CRM_ADMIN_TOKEN_FILE"] = missing }, ""),
            "token file empty" => (new() { ["CRM_ADMIN_TOKEN_FILE"] = empty }, ""),
            "token both ways" => (new() { ["CRM_ADMIN_TOKEN_FILE"] = token, ["CRM_ADMIN_TOKEN"] = Token }, ""),
            "database url file missing" => (new() { ["DATABASE_URL_FILE"] = missing }, ""),
            "database url both ways" => (new() { ["DATABASE_URL_FILE"] = url, ["DATABASE_URL"] = $"postgresql://postgres:{Password}@127.0.0.1:1/crm" }, ""),
            "tls certificate missing" => (new(), $"crm.admin.tls {{ certificate = \"{missing}\", key = \"{certificates.KeyPem}\" }}"),
            "tls key of another certificate" => (new(), $"crm.admin.tls {{ certificate = \"{certificates.CertificatePem}\", key = \"{other.KeyPem}\" }}"),
            "tls key without certificate" => (new(), $"crm.admin.tls.key = \"{certificates.KeyPem}\""),
            _ => throw new ArgumentOutOfRangeException(nameof(@case)),
        };
        var (config, _) = Ports.ServiceConfig(hocon);
        var (exitCode, output) = await HostProcess.RunAsync(["--demo", "--config", config], environment, TimeSpan.FromSeconds(60));

        Assert.Equal(2, exitCode);
        var expected = firstLine.Replace("{missing}", missing).Replace("{empty}", empty).Replace("{token}", token)
            .Replace("{url}", url).Replace("{otherKey}", other.KeyPem);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Single(lines);
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain(Token, output);
        Assert.DoesNotContain(Password, output);
    }
}
