using Crm.Actors.Supervision;
using Crm.Actors.Telemetry;

namespace Crm.Tests.Telemetry;

public class PrometheusTextTests
{
    [Fact]
    public void Should_write_help_type_and_samples_with_their_labels()
    {
        var text = PrometheusText.Write(
        [
            new MetricFamily("crm_things_total", "counter", "Things", [MetricSample.Of(3)]),
            new MetricFamily("crm_state", "gauge", "State", [MetricSample.Of(1, new("program", "a"), new("state", "RUNNING"))]),
        ]);

        Assert.Equal("""
            # HELP crm_things_total Things
            # TYPE crm_things_total counter
            crm_things_total 3
            # HELP crm_state State
            # TYPE crm_state gauge
            crm_state{program="a",state="RUNNING"} 1

            """.Replace("\r\n", "\n"), text);
    }

    [Fact]
    public void Should_escape_label_values_and_help_as_the_format_requires()
    {
        var text = PrometheusText.Write([new MetricFamily("m", "gauge", "a \\ b\nc", [MetricSample.Of(0, new KeyValuePair<string, string>("l", "say \"hi\"\\\n"))])]);

        Assert.Contains("# HELP m a \\\\ b\\nc\n", text);
        Assert.Contains("m{l=\"say \\\"hi\\\"\\\\\\n\"} 0\n", text);
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(0.001, "0.001")]
    [InlineData(0.0025, "0.0025")]
    [InlineData(86400.0, "86400")]
    [InlineData(1e-7, "1E-07")]
    [InlineData(double.PositiveInfinity, "+Inf")]
    [InlineData(double.NegativeInfinity, "-Inf")]
    [InlineData(double.NaN, "NaN")]
    public void Should_write_numbers_as_prometheus_reads_them(double value, string expected)
    {
        Assert.Equal(expected, PrometheusText.Number(value));
    }

    [Fact]
    public void Should_make_buckets_cumulative_and_end_with_inf_sum_and_count()
    {
        var samples = Buckets.Samples([0.5, 1], [2, 0, 1], 2.75);

        Assert.Equal(
            ["_bucket le=0.5 2", "_bucket le=1 2", "_bucket le=+Inf 3", "_sum 2.75", "_count 3"],
            samples.Select(s => $"{s.Suffix}{string.Concat(s.Labels.Select(l => $" {l.Key}={l.Value}"))} {s.Value}"));
    }

    [Fact]
    public void Should_count_a_value_in_the_first_bucket_whose_bound_holds_it()
    {
        var histogram = new Buckets("h_seconds", "H", [0.001, 1, 600]);
        histogram.Record(1); // a bound holds its own value (le: less or equal)
        histogram.Record(0.5);
        histogram.Record(601);
        histogram.Record(double.NaN); // ignored

        var lines = PrometheusText.Write([histogram.Collect()]).Split('\n');

        Assert.Contains("h_seconds_bucket{le=\"0.001\"} 0", lines);
        Assert.Contains("h_seconds_bucket{le=\"1\"} 2", lines);
        Assert.Contains("h_seconds_bucket{le=\"600\"} 2", lines);
        Assert.Contains("h_seconds_bucket{le=\"+Inf\"} 3", lines);
        Assert.Contains("h_seconds_sum 602.5", lines);
        Assert.Contains("h_seconds_count 3", lines);
    }

    [Fact]
    public void Should_export_an_unlabelled_counter_at_zero_before_it_moves_and_a_labelled_one_once_declared()
    {
        var plain = new Total("plain_total", "P");
        var labelled = new Total("restarts_total", "R", label: "program");

        Assert.Equal("plain_total 0", PrometheusText.Write([plain.Collect()]).Split('\n')[2]);
        Assert.Empty(labelled.Collect().Samples);

        labelled.Declare("reminder_worker");
        Assert.Equal("restarts_total{program=\"reminder_worker\"} 0", PrometheusText.Write([labelled.Collect()]).Split('\n')[2]);
        labelled.Add(2, new KeyValuePair<string, object?>("program", "reminder_worker"));
        Assert.Equal(2, labelled.Read("reminder_worker"));
        Assert.Throws<ArgumentException>(() => labelled.Add(1, new KeyValuePair<string, object?>("state", "x")));
    }

    [Fact]
    public void Should_give_each_program_one_sample_per_state_with_1_for_the_one_it_is_in()
    {
        var gauge = new StateGauge("crm_program_state", "help", "program", "state");
        gauge.Set("b", ProgramMetrics.Name(ProgramState.Running), ProgramMetrics.StateNames);
        gauge.Declare("a", ProgramMetrics.Name(ProgramState.Stopped), ProgramMetrics.StateNames);
        gauge.Set("a", ProgramMetrics.Name(ProgramState.Fatal), ProgramMetrics.StateNames);
        gauge.Declare("b", ProgramMetrics.Name(ProgramState.Stopped), ProgramMetrics.StateNames); // declared already: stays RUNNING

        var samples = gauge.Collect().Samples;

        Assert.Equal(2 * Enum.GetValues<ProgramState>().Length, samples.Count);
        Assert.Equal(["a FATAL", "b RUNNING"], samples.Where(s => s.Value == 1).Select(s => $"{s.Labels[0].Value} {s.Labels[1].Value}"));
    }
}
