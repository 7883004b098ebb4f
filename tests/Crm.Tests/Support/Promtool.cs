using System.ComponentModel;
using System.Diagnostics;

namespace Crm.Tests.Support;

/// <summary>Prometheus' own parser and linter, <c>promtool check metrics</c> (Debian's prometheus package; test.sh installs it).</summary>
public static class Promtool
{
    /// <summary>Runs <c>promtool check metrics</c> on <paramref name="exposition"/>: its exit code and everything it printed.</summary>
    public static async Task<(int ExitCode, string Output)> CheckMetricsAsync(string exposition)
    {
        var info = new ProcessStartInfo("promtool")
        {
            ArgumentList = { "check", "metrics" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("promtool is not installed: run ./test.sh, which installs Debian's prometheus package", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            await process.StandardInput.WriteAsync(exposition);
            process.StandardInput.Close();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, (await stdout + await stderr).Trim());
        }
    }
}
