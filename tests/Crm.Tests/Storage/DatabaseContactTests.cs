using Crm.Actors.Storage;

namespace Crm.Tests.Storage;

/// <summary>/health/ready's database part: answered from the service's own news, one shared check when it is stale.</summary>
public class DatabaseContactTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_be_ready_on_fresh_news_or_an_open_LISTEN_connection_and_ask_once_the_news_is_a_minute_old()
    {
        Assert.IsType<Readiness.Unknown>(DatabaseNews.None.Decide(Now));
        var answered = DatabaseNews.None with { AnsweredAt = Now.AddSeconds(-59) };
        Assert.Equal(new Readiness.Ready("it answered 59 s ago"), answered.Decide(Now));
        Assert.IsType<Readiness.Unknown>(answered.Decide(Now.AddSeconds(1)));
        // An open LISTEN connection stands for the database however long it has been quiet.
        Assert.IsType<Readiness.Ready>((answered with { Listening = true }).Decide(Now.AddHours(1)));
    }

    [Fact]
    public void Should_not_be_ready_while_the_newest_news_is_a_failure_under_a_minute_old()
    {
        var failed = new DatabaseNews(Now.AddSeconds(-30), Now.AddSeconds(-10), "the LISTEN connection was lost: boom", Listening: false);
        Assert.Equal(new Readiness.NotReady("the LISTEN connection was lost: boom"), failed.Decide(Now));
        Assert.IsType<Readiness.Unknown>(failed.Decide(Now.AddSeconds(50))); // then it asks again
        Assert.IsType<Readiness.Ready>((failed with { AnsweredAt = Now.AddSeconds(-1) }).Decide(Now)); // an answer since
    }

    [Fact]
    public async Task Should_run_one_check_for_every_probe_that_arrives_while_it_runs_and_none_for_a_minute_after()
    {
        var clock = new SettableClock(Now);
        var contact = new DatabaseContact(clock);
        var checks = 0;
        var release = new TaskCompletionSource();
        async Task Check()
        {
            Interlocked.Increment(ref checks);
            await release.Task;
        }

        var probes = Enumerable.Range(0, 50).Select(_ => contact.ReadinessAsync(Check)).ToList();
        release.SetResult();
        Assert.All(await Task.WhenAll(probes), r => Assert.IsType<Readiness.Ready>(r));
        Assert.Equal(1, checks);

        clock.Now = Now.AddSeconds(59);
        for (var i = 0; i < 100; i++) Assert.IsType<Readiness.Ready>(await contact.ReadinessAsync(Check));
        Assert.Equal(1, checks);

        clock.Now = Now.AddSeconds(61);
        var failing = await contact.ReadinessAsync(() => Task.FromException(new TimeoutException("no answer within 5 s")));
        Assert.Equal(new Readiness.NotReady("no answer within 5 s"), failing);
        Assert.Equal(new Readiness.NotReady("no answer within 5 s"), await contact.ReadinessAsync(Check)); // a fresh failure: no check
        Assert.Equal(1, checks);
    }

    private sealed class SettableClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
