using System.Text;
using Crm.Host.Admin;
using Microsoft.Extensions.Primitives;

namespace Crm.Tests.Admin;

public class AdminQueryTests
{
    [Fact]
    public void Should_read_an_absent_whole_number_as_null_and_a_present_one_as_its_value()
    {
        Assert.Equal(new AdminQuery.Parsed<long?>(null, null), AdminQuery.WholeNumber("offset", StringValues.Empty));
        Assert.Equal(new AdminQuery.Parsed<long?>(0, null), AdminQuery.WholeNumber("offset", "0"));
        Assert.Equal(new AdminQuery.Parsed<long?>(long.MaxValue, null), AdminQuery.WholeNumber("offset", long.MaxValue.ToString()));
        Assert.Equal(new AdminQuery.Parsed<long?>(2147483647, null), AdminQuery.WholeNumber("lines", "2147483647", int.MaxValue));
    }

    [Theory]
    [InlineData("-100")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData(" 5")]
    [InlineData("+5")]
    [InlineData("1e3")]
    [InlineData("1.5")]
    [InlineData("0x10")]
    [InlineData("99999999999999999999")]
    public void Should_refuse_a_value_that_is_not_a_whole_number_naming_the_parameter_and_the_value(string value)
    {
        var parsed = AdminQuery.WholeNumber("offset", value);

        Assert.Null(parsed.Value);
        Assert.Equal($"offset={value}: expected a whole number from 0 to 9223372036854775807", parsed.Error);
    }

    [Fact]
    public void Should_refuse_a_number_above_the_maximum()
    {
        Assert.Equal("lines=2147483648: expected a whole number from 0 to 2147483647",
            AdminQuery.WholeNumber("lines", "2147483648", int.MaxValue).Error);
    }

    [Fact]
    public void Should_refuse_a_parameter_given_twice()
    {
        Assert.Equal("offset: given 2 times, expected once", AdminQuery.WholeNumber("offset", new StringValues(["1", "2"])).Error);
        Assert.Equal("stream: given 2 times, expected once", AdminQuery.OneOf("stream", new StringValues(["stdout", "stderr"]), "stdout", "stderr").Error);
        Assert.Equal("program: given 3 times, expected once", AdminQuery.Text("program", new StringValues(["a", "b", "c"])).Error);
    }

    [Fact]
    public void Should_cut_a_long_value_in_the_error()
    {
        var error = AdminQuery.WholeNumber("tail", new string('9', 5000)).Error!;

        Assert.StartsWith($"tail={new string('9', 64)}...: expected", error);
    }

    [Fact]
    public void Should_accept_only_the_listed_values_for_a_choice()
    {
        Assert.Equal(new AdminQuery.Parsed<string?>("stderr", null), AdminQuery.OneOf("stream", "stderr", "stdout", "stderr"));
        Assert.Equal(new AdminQuery.Parsed<string?>(null, null), AdminQuery.OneOf("stream", StringValues.Empty, "stdout", "stderr"));
        Assert.Equal("stream=STDERR: expected stdout or stderr", AdminQuery.OneOf("stream", "STDERR", "stdout", "stderr").Error);
    }

    [Fact]
    public void Should_serve_a_tail_longer_than_one_read_as_the_last_bytes_of_the_file()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("crm-tail-").FullName, "reminder_worker.log");
        File.WriteAllText(path, new string('a', LogTail.MaxChunk) + "the end\n");

        var chunk = LogTail.Read(path, offset: null, tail: long.MaxValue);

        Assert.Equal(LogTail.MaxChunk, Encoding.UTF8.GetByteCount(chunk.Text));
        Assert.EndsWith("the end\n", chunk.Text);
        Assert.Equal(new FileInfo(path).Length, chunk.Offset);
    }
}
