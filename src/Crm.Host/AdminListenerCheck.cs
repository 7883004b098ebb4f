using System.Net;
using System.Net.Sockets;
using Crm.Actors.Configuration;
using Crm.Actors.Hosting;

namespace Crm.Host;

/// <summary>
/// The admin listener's address, tried before anything starts: Kestrel binds only after the actors are up, and a
/// bind failure then is a page of stack traces between start-up lines. A race after the check still ends in
/// <see cref="StartupFailure"/>, with the same words.
/// </summary>
public static class AdminListenerCheck
{
    public static void EnsureAvailable(AdminSettings admin)
    {
        var address = admin.Host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(admin.Host);
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

    public static string Problem(SocketError error) => error switch
    {
        SocketError.AddressAlreadyInUse => "the port is already in use (another Crm.Host?)",
        SocketError.AddressNotAvailable => "the address is not one of this machine's",
        SocketError.AccessDenied => "not allowed to listen there (ports below 1024 need privileges)",
        var other => $"cannot listen there ({other})",
    };
}
