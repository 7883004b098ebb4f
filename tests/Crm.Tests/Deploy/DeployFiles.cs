using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Crm.Tests.Deploy;

/// <summary>The files of deploy/prometheus and deploy/grafana, and what the tests read from them.</summary>
internal static partial class DeployFiles
{
    public static string Root { get; } = FindRoot();

    public static string PrometheusDir => Path.Combine(Root, "deploy", "prometheus");
    public static string RulesFile => Path.Combine(PrometheusDir, "crm-actors.rules.yml");
    public static string RuleTestsFile => Path.Combine(PrometheusDir, "tests", "crm-actors.test.yml");
    public static string DashboardFile => Path.Combine(Root, "deploy", "grafana", "dashboards", "crm-actors.json");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir!.FullName, "CrmActors.sln"))) dir = dir.Parent;
        return dir.FullName;
    }

    /// <summary>Each alert of the rules file: its name and the text of its rule (up to the next rule).</summary>
    public static IReadOnlyList<(string Name, string Text)> Alerts() =>
        RuleBlock().Matches(File.ReadAllText(RulesFile)).Where(m => m.Groups["kind"].Value == "alert")
            .Select(m => (m.Groups["name"].Value, m.Value)).ToList();

    /// <summary>The names the recording rules record.</summary>
    public static IReadOnlyList<string> RecordedNames() =>
        RuleBlock().Matches(File.ReadAllText(RulesFile)).Where(m => m.Groups["kind"].Value == "record")
            .Select(m => m.Groups["name"].Value).ToList();

    [GeneratedRegex(@"^ +- (?<kind>alert|record): (?<name>[\w:]+)\n.*?(?=^ +- (?:alert|record): |\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RuleBlock();

    /// <summary>The expression of every rule, as written (a block scalar's lines without their indentation).</summary>
    public static IReadOnlyList<string> RuleExpressions() =>
        RuleExpression().Matches(File.ReadAllText(RulesFile)).Select(m => Regex.Replace(m.Groups["expr"].Value, @"\n +", "\n").Trim()).ToList();

    [GeneratedRegex(@"^ +expr: (?:\|\n)?(?<expr>.*?)(?=^ +(?:for|labels|annotations):|^ +- (?:alert|record):|^ *#|\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex RuleExpression();

    /// <summary>Each case of the promtool unit tests: the alert, and whether the case expects it to fire.</summary>
    public static IReadOnlyList<(string Alert, bool Fires)> AlertCases() =>
        AlertCase().Matches(File.ReadAllText(RuleTestsFile))
            .Select(m => (m.Groups["alert"].Value, !m.Groups["body"].Value.TrimStart().StartsWith("[]", StringComparison.Ordinal))).ToList();

    [GeneratedRegex(@"- eval_time: \S+[^\n]*\n +alertname: (?<alert>\w+)\n +exp_alerts:(?<body>.*?)(?=- eval_time:|^  - interval:|\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex AlertCase();

    /// <summary>Every query of the dashboard: its panel's title and the target's expression, as written (with Grafana's variables).</summary>
    public static IReadOnlyList<(string Panel, string Expr)> DashboardQueries()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        return dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("targets", out _))
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray()
                .Select(target => (panel.GetProperty("title").GetString()!, target.GetProperty("expr").GetString()!)))
            .ToList();
    }

    /// <summary>The dashboard's query variables: name and query (Grafana's label_values(SELECTOR, LABEL)).</summary>
    public static IReadOnlyList<(string Name, string Query)> DashboardVariables()
    {
        using var dashboard = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        return dashboard.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
            .Where(v => v.GetProperty("type").GetString() == "query")
            .Select(v => (v.GetProperty("name").GetString()!, v.GetProperty("query").GetProperty("query").GetString()!)).ToList();
    }

    /// <summary>
    /// A dashboard query as Grafana sends it with every variable at "All" (allValue ".*") and a scrape interval of
    /// <paramref name="scrapeInterval"/>: $__rate_interval is max($__interval + scrape, 4 x scrape), 4 x scrape
    /// for a short time range.
    /// </summary>
    public static string AsGrafanaSends(string expr, TimeSpan scrapeInterval) =>
        expr.Replace("$__rate_interval", $"{(int)(4 * scrapeInterval.TotalSeconds)}s", StringComparison.Ordinal)
            .Replace("$job", ".*", StringComparison.Ordinal)
            .Replace("$instance", ".*", StringComparison.Ordinal);

    /// <summary>The series names an expression reads (the service's, recorded ones, and Prometheus' own up and ALERTS).</summary>
    public static IReadOnlyList<string> SeriesRead(string expr) =>
        SeriesName().Matches(expr).Select(m => m.Value).Distinct().ToList();

    [GeneratedRegex(@"\b(?:crm_[a-z_]+|crm:[a-z0-9_:]+|up|ALERTS)\b(?=\s*[\[{)]|\s*(?:==|>|<|unless|and|or)|\s*$)")]
    private static partial Regex SeriesName();

    /// <summary>Runs <c>promtool</c> (Debian's prometheus package) in <paramref name="workingDirectory"/>: exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> PromtoolAsync(string workingDirectory, params string[] args)
    {
        var info = new ProcessStartInfo("promtool")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        Process process;
        try { process = Process.Start(info)!; }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException("promtool is not installed: run ./test.sh, which installs Debian's prometheus package", e);
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, (await stdout + await stderr).Trim());
        }
    }
}
