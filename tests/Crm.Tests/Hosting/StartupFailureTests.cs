using System.Net.Sockets;
using Crm.Actors.Configuration;
using Crm.Actors.Storage;
using Crm.Host;
using Npgsql;

namespace Crm.Tests.Hosting;

public class StartupFailureTests
{
    private static readonly StartupContext Context = new("postgresql://crm@db:5432/crm", "DATABASE_URL", "127.0.0.1:9110");

    private static PostgresException Postgres(string sqlState, string message) => new(message, "FATAL", "FATAL", sqlState);

    [Fact]
    public void Should_exit_2_naming_the_database_and_the_SQLSTATE_when_the_password_is_wrong()
    {
        var failure = StartupFailure.Classify(Postgres("28P01", "password authentication failed for user \"crm\""), Context);
        Assert.Equal(new StartupFailure(2,
            "invalid configuration: DATABASE_URL = 'postgresql://crm@db:5432/crm': cannot log in: 28P01 password authentication failed for user \"crm\"",
            true), failure);
    }

    [Theory]
    [InlineData("28000", "role \"nobody\" does not exist")]
    [InlineData("3D000", "database \"crm\" does not exist")]
    public void Should_exit_2_when_the_role_or_the_database_is_not_the_servers(string sqlState, string message)
    {
        var failure = StartupFailure.Classify(Postgres(sqlState, message), Context);
        Assert.Equal(2, failure.ExitCode);
        Assert.StartsWith("invalid configuration: DATABASE_URL = 'postgresql://crm@db:5432/crm': ", failure.Line);
        Assert.EndsWith($"{sqlState} {message}", failure.Line);
    }

    [Fact]
    public void Should_exit_2_when_the_server_asks_for_a_password_the_url_does_not_give()
    {
        var failure = StartupFailure.Classify(new NpgsqlException("No password has been provided but the backend requires one (in SASL)"), Context);
        Assert.Equal(2, failure.ExitCode);
        Assert.Contains("the server asks for a password and the URL has none", failure.Line);
    }

    [Theory]
    [InlineData(SocketError.ConnectionRefused, "connection refused")]
    [InlineData(SocketError.HostNotFound, "host not found")]
    [InlineData(SocketError.TimedOut, "timed out")]
    public void Should_exit_1_when_the_database_cannot_be_reached(SocketError error, string reason)
    {
        var failure = StartupFailure.Classify(new NpgsqlException("Failed to connect to db:5432", new SocketException((int)error)), Context);
        Assert.Equal(new StartupFailure(1, $"Crm.Host failed: cannot reach postgresql://crm@db:5432/crm (DATABASE_URL): {reason}", true), failure);
    }

    [Fact]
    public void Should_exit_1_when_connecting_times_out()
    {
        var failure = StartupFailure.Classify(new NpgsqlException("The operation has timed out", new TimeoutException()), Context);
        Assert.Equal((1, "Crm.Host failed: cannot reach postgresql://crm@db:5432/crm (DATABASE_URL): timed out"), (failure.ExitCode, failure.Line));
    }

    [Fact]
    public void Should_exit_1_with_the_advice_when_the_database_is_not_migrated()
    {
        var failure = StartupFailure.Classify(
            new StoreNotReadyException("postgresql://crm@db:5432/crm is not migrated for crm-actors: run Crm.Host --migrate"), Context);
        Assert.Equal(new StartupFailure(1, "Crm.Host failed: postgresql://crm@db:5432/crm is not migrated for crm-actors: run Crm.Host --migrate", true), failure);
    }

    [Fact]
    public void Should_exit_1_with_the_SQLSTATE_for_another_database_error()
    {
        var failure = StartupFailure.Classify(Postgres("42501", "permission denied for schema public"), Context);
        Assert.Equal((1, "Crm.Host failed: postgresql://crm@db:5432/crm: 42501 permission denied for schema public"), (failure.ExitCode, failure.Line));
    }

    [Theory]
    [InlineData(SocketError.AddressAlreadyInUse, "the port is already in use")]
    [InlineData(SocketError.AddressNotAvailable, "the address is not one of this machine's")]
    public void Should_exit_2_naming_crm_admin_bind_when_the_listener_cannot_bind(SocketError error, string reason)
    {
        // As Kestrel throws it: an IOException around the socket's error.
        var kestrel = new IOException("Failed to bind to address http://127.0.0.1:9110: address already in use.", new SocketException((int)error));
        foreach (var thrown in new Exception[] { kestrel, new SocketException((int)error) })
        {
            var failure = StartupFailure.Classify(thrown, Context);
            Assert.Equal(2, failure.ExitCode);
            Assert.StartsWith($"invalid configuration: crm.admin.bind = '127.0.0.1:9110': {reason}", failure.Line);
        }
    }

    [Fact]
    public void Should_pass_a_configuration_error_on_as_it_is()
    {
        var error = new ConfigurationException("crm.reminders.interval", "soon", "expected a duration");
        Assert.Equal(new StartupFailure(2, error.Message, true), StartupFailure.Classify(error, Context));
    }

    [Fact]
    public void Should_keep_the_stack_trace_of_an_error_nobody_foresaw_and_exit_1()
    {
        var failure = StartupFailure.Classify(new AggregateException(new InvalidOperationException("postgresql://crm:s3cret@db/crm broke")), Context);
        Assert.Equal(new StartupFailure(1, "Crm.Host failed: postgresql://crm:***@db/crm broke", false), failure);
    }
}
