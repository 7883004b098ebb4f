using System.Net;
using System.Net.Sockets;

namespace Crm.Tests.Support;

/// <summary>
/// A TCP relay on loopback in front of the test PostgreSQL server: <see cref="Down"/> is a database outage as a
/// host sees it (its connections are cut, new ones refused), <see cref="Up"/> its return, on the same port. The
/// shared test server itself stays up for the other tests.
/// </summary>
public sealed class OutageProxy : IDisposable
{
    private readonly int _target;
    private readonly List<TcpClient> _open = [];
    private TcpListener? _listener;

    public OutageProxy(int target)
    {
        _target = target;
        Port = Ports.Free();
        Up();
    }

    public int Port { get; }

    public void Up()
    {
        var listener = new TcpListener(IPAddress.Loopback, Port);
        listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Start();
        _listener = listener;
        _ = AcceptAsync(listener);
    }

    public void Down()
    {
        _listener?.Stop();
        _listener = null;
        lock (_open)
        {
            foreach (var client in _open) client.Dispose();
            _open.Clear();
        }
    }

    private async Task AcceptAsync(TcpListener listener)
    {
        while (true)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException) { return; }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var server = new TcpClient();
        lock (_open) { _open.Add(client); _open.Add(server); }
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target);
            await Task.WhenAny(client.GetStream().CopyToAsync(server.GetStream()), server.GetStream().CopyToAsync(client.GetStream()));
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or InvalidOperationException) { }
        finally
        {
            client.Dispose();
            server.Dispose();
        }
    }

    public void Dispose() => Down();
}
