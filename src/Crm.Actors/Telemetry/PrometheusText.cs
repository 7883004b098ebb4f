using System.Globalization;
using System.Text;

namespace Crm.Actors.Telemetry;

/// <summary>One metric family as Prometheus exposes it: a name, a type, a help line and its samples.</summary>
/// <param name="Type">counter, gauge or histogram.</param>
public sealed record MetricFamily(string Name, string Type, string Help, IReadOnlyList<MetricSample> Samples);

/// <summary>One line of a family: the family's name plus <paramref name="Suffix"/> (_bucket, _sum, _count or none).</summary>
public sealed record MetricSample(string Suffix, IReadOnlyList<KeyValuePair<string, string>> Labels, double Value)
{
    public static MetricSample Of(double value, params KeyValuePair<string, string>[] labels) => new("", labels, value);
}

/// <summary>Prometheus' text exposition format 0.0.4, written from families: a pure function.</summary>
public static class PrometheusText
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    public static string Write(IEnumerable<MetricFamily> families)
    {
        var text = new StringBuilder();
        foreach (var family in families)
        {
            text.Append("# HELP ").Append(family.Name).Append(' ').Append(EscapeHelp(family.Help)).Append('\n');
            text.Append("# TYPE ").Append(family.Name).Append(' ').Append(family.Type).Append('\n');
            foreach (var sample in family.Samples)
            {
                text.Append(family.Name).Append(sample.Suffix);
                if (sample.Labels.Count > 0)
                    text.Append('{').AppendJoin(',', sample.Labels.Select(l => $"{l.Key}=\"{EscapeLabel(l.Value)}\"")).Append('}');
                text.Append(' ').Append(Number(sample.Value)).Append('\n');
            }
        }
        return text.ToString();
    }

    /// <summary>A value as Prometheus (Go's ParseFloat) reads it: shortest round-trip digits, +Inf, -Inf, NaN.</summary>
    public static string Number(double value) => value switch
    {
        double.PositiveInfinity => "+Inf",
        double.NegativeInfinity => "-Inf",
        double.NaN => "NaN",
        _ => value.ToString("R", CultureInfo.InvariantCulture),
    };

    private static string EscapeHelp(string help) => help.Replace("\\", @"\\").Replace("\n", @"\n");

    private static string EscapeLabel(string value) => value.Replace("\\", @"\\").Replace("\"", "\\\"").Replace("\n", @"\n");
}
