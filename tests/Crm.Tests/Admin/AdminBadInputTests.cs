using System.Net;
using System.Text;
using System.Text.Json;
using Crm.Tests.Support;

namespace Crm.Tests.Admin;

/// <summary>One real host on PostgreSQL, shared by the cases: each bad input must be answered, never logged as an error.</summary>
public sealed class RunningHostFixture : IAsyncLifetime
{
    private TestDatabase? _db;
    public HostProcess Host { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _db = await PostgresServer.CreateDatabaseAsync();
        (Host, Http, _) = await AdminEndpointTests.StartAsync(_db);
    }

    /// <summary>The ERROR (and CRITICAL) lines the host wrote, on its console and in its log (INFO and up).</summary>
    public IReadOnlyList<string> ErrorLines() =>
        (Host.Output + "\n" + Host.ReadLog("reminder_worker.log")).Split('\n')
            .Where(line => line.Contains(" - ERROR - ") || line.Contains(" - CRITICAL - "))
            .ToList();

    public async Task DisposeAsync()
    {
        Host.Dispose();
        Http.Dispose();
        if (_db is not null) await _db.DisposeAsync();
    }
}

[Trait("Category", "Integration")]
public class AdminBadInputTests(RunningHostFixture running) : IClassFixture<RunningHostFixture>
{
    private const string MaxLong = "9223372036854775807";

    [Theory]
    [InlineData("/api/logs/reminder_worker?offset=-100", 400, $"offset=-100: expected a whole number from 0 to {MaxLong}")]
    [InlineData("/api/logs/reminder_worker?tail=-1", 400, $"tail=-1: expected a whole number from 0 to {MaxLong}")]
    [InlineData("/api/logs/reminder_worker?tail=abc", 400, "tail=abc: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?offset=abc", 400, "offset=abc: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?offset=", 400, "offset=: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?tail=1e3", 400, "tail=1e3: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?offset=99999999999999999999", 400, "offset=99999999999999999999: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?offset=1&offset=2", 400, "offset: given 2 times, expected once")]
    [InlineData("/api/logs/reminder_worker?stream=bogus", 400, "stream=bogus: expected stdout or stderr")]
    [InlineData("/api/logs/reminder_worker?stream=stderr&tail=-5", 400, "tail=-5: expected a whole number")]
    [InlineData("/api/logs/reminder_worker?tail=99999999999", 200, null)]
    [InlineData("/api/logs/reminder_worker?offset=" + MaxLong, 200, null)] // past the end: read from the start, as after a roll
    [InlineData("/api/logs/reminder_worker?tail=0", 200, null)]
    [InlineData("/api/logs/nope?offset=-1", 404, "no such process")]
    [InlineData("/api/logs/peek?lines=-1", 400, "lines=-1: expected a whole number from 0 to 2147483647")]
    [InlineData("/api/logs/peek?lines=abc", 400, "lines=abc: expected a whole number")]
    [InlineData("/api/logs/peek?lines=2147483648", 400, "lines=2147483648: expected a whole number")]
    [InlineData("/api/logs/peek?lines=2147483647", 200, null)]
    [InlineData("/api/events?program=nope", 404, "no such process")]
    [InlineData("/api/events?program=a&program=b", 400, "program: given 2 times, expected once")]
    [InlineData("/api/programs/nope", 404, "no such process")]
    [InlineData("/api/programs/%20", 404, "no such process")]
    public async Task Should_answer_a_bad_or_odd_query_with_its_status_and_log_no_error(string path, int status, string? error)
    {
        var response = await running.Http.GetAsync(path);

        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{path}: {(int)response.StatusCode} {body}");
        if (error is not null) Assert.StartsWith(error, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        Assert.Empty(running.ErrorLines());
    }

    [Theory]
    [InlineData("/api/programs/nope/start", 404)]
    [InlineData("/api/programs/nope/stop", 404)]
    [InlineData("/api/programs/nope/restart", 404)]
    [InlineData("/api/programs/reminder_worker/bogus", 404)]
    [InlineData("/api/reread", 200)] // no command reads a body: one that is not JSON is ignored
    [InlineData("/api/update", 200)]
    [InlineData("/api/scan-now", 400)] // a program's verb reads its arguments from the body: one that is not JSON is refused, clearly
    public async Task Should_answer_a_command_sent_with_a_body_that_is_not_json_and_log_no_error(string path, int status)
    {
        using var content = new StringContent("{not json", Encoding.UTF8, "application/json");
        var response = await running.Http.PostAsync(path, content);

        Assert.True(status == (int)response.StatusCode, $"{path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        Assert.Empty(running.ErrorLines());
    }

    [Fact]
    public async Task Should_answer_405_to_a_command_asked_with_get()
    {
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await running.Http.GetAsync("/api/scan-now")).StatusCode);
        Assert.Empty(running.ErrorLines());
    }
}
