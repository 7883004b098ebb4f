using System.Diagnostics;
using System.Text;

namespace Crm.Tests.Support;

/// <summary>The real Crm.Host, run as a child process in a working directory of its own.</summary>
public sealed class HostProcess : IDisposable
{
    private readonly StringBuilder _output = new();
    public Process Process { get; }
    public string WorkingDirectory { get; }

    private HostProcess(Process process, string workingDirectory)
    {
        Process = process;
        WorkingDirectory = workingDirectory;
    }

    public string Output { get { lock (_output) return _output.ToString(); } }

    /// <summary>A log file of the host, read while the host may still be writing it.</summary>
    public string ReadLog(string name)
    {
        using var stream = new FileStream(Path.Combine(WorkingDirectory, "logs", name), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    public static string HostDll => Built("Crm.Host", "Crm.Host.dll");

    public static string CtlDll => Built("Crm.Ctl", "crmctl.dll");

    /// <summary>A program of the solution as built in the same configuration as these tests.</summary>
    private static string Built(string project, string dllName)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        var configuration = dir.Parent!.Name; // tests/Crm.Tests/bin/<Configuration>/net10.0/
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CrmActors.sln"))) dir = dir.Parent;
        var dll = Path.Combine(dir!.FullName, "src", project, "bin", configuration, "net10.0", dllName);
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build the solution first", dll);
    }

    public static HostProcess Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        StartDll(HostDll, args, environment, workingDirectory);

    /// <summary>Runs crmctl to its end: exit code, standard output, standard error.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(int port, params string[] args) =>
        await CtlAsync(new Dictionary<string, string> { ["CRM_ADMIN_URL"] = $"http://127.0.0.1:{port}" }, args);

    public static async Task<(int ExitCode, string Stdout, string Stderr)> CtlAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(CtlDll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var inherited in new[] { "CRM_ADMIN_TOKEN", "CRM_ADMIN_TOKEN_FILE", "CRM_ADMIN_CA" }) info.Environment.Remove(inherited);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return await RunAsync(info);
    }

    /// <summary>Runs a command to its end (two minutes at most): exit code, standard output, standard error.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(ProcessStartInfo info)
    {
        info.RedirectStandardOutput = info.RedirectStandardError = true;
        info.UseShellExecute = false;
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(cts.Token);
        return (process.ExitCode, await stdout, await stderr);
    }

    private static HostProcess StartDll(string dll, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, string? workingDirectory)
    {
        workingDirectory ??= Directory.CreateTempSubdirectory("crm-host-").FullName;
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (var arg in args) info.ArgumentList.Add(arg);
        foreach (var inherited in new[] { "DATABASE_URL", "DATABASE_URL_FILE", "CRM_ADMIN_TOKEN_FILE" }) info.Environment.Remove(inherited);
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var host = new HostProcess(new Process { StartInfo = info }, workingDirectory);
        host.Process.OutputDataReceived += (_, e) => host.Append(e.Data);
        host.Process.ErrorDataReceived += (_, e) => host.Append(e.Data);
        host.Process.Start();
        host.Process.BeginOutputReadLine();
        host.Process.BeginErrorReadLine();
        return host;
    }

    /// <summary>Runs to the end; returns the exit code. Fails the test if it does not end in <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null, TimeSpan? timeout = null, string? workingDirectory = null)
    {
        using var host = Start(args, environment, workingDirectory);
        var code = await host.WaitAsync(timeout ?? TimeSpan.FromMinutes(2));
        return (code, host.Output);
    }

    /// <summary>SIGTERM, as <c>docker stop</c> and Kubernetes send it.</summary>
    public async Task TerminateAsync()
    {
        using var kill = System.Diagnostics.Process.Start("kill", ["-TERM", Process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            throw new TimeoutException($"Crm.Host did not exit within {timeout}:\n{Output}");
        }
        Process.WaitForExit(); // drains the output readers
        return Process.ExitCode;
    }

    private void Append(string? line)
    {
        if (line is null) return;
        lock (_output) _output.AppendLine(line);
    }

    public void Dispose()
    {
        if (!Process.HasExited) Process.Kill(entireProcessTree: true);
        Process.Dispose();
    }
}

public static class Ports
{
    /// <summary>A loopback port free right now, for a host's admin listener.</summary>
    /// <remarks>
    /// Below the kernel's ephemeral range (32768-60999 here), never handed out twice by this process: a port the OS
    /// picks from that range is free now, and may be an outgoing connection's a moment later (the cluster tests'
    /// hosts open many), before the host binds it.
    /// </remarks>
    public static int Free()
    {
        while (true)
        {
            var port = 20_000 + Random.Shared.Next(12_000);
            if (!Taken.TryAdd(port, 0)) continue;
            try
            {
                using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException) { } // in use: another
        }
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, byte> Taken = new();

    public static string ConfigFile(string hocon)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-config-").FullName, "crm.conf");
        File.WriteAllText(path, hocon);
        return path;
    }

    /// <summary>A config file for a host in service mode: its own admin port, then <paramref name="hocon"/>.</summary>
    public static (string Path, int Port) ServiceConfig(string hocon = "")
    {
        var port = Free();
        return (ConfigFile($"crm.admin.bind = \"127.0.0.1:{port}\"\n{hocon}\n"), port);
    }
}

public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds; fails with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, Func<string>? context = null)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"not within {timeout}: {what}\n{context?.Invoke()}");
            await Task.Delay(25);
        }
    }
}
