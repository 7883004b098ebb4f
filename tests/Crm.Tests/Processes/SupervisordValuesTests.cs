using Crm.Actors.Processes;

namespace Crm.Tests.Processes;

/// <summary>supervisord 4.2.5's value types; the expected answers are Python's and supervisord's own, run on the same input.</summary>
public class SupervisordValuesTests
{
    [Theory]
    [InlineData("true", true)]
    [InlineData("Yes", true)]
    [InlineData("ON", true)]
    [InlineData("1", true)]
    [InlineData("false", false)]
    [InlineData("no", false)]
    [InlineData("Off", false)]
    [InlineData("0", false)]
    public void Should_read_booleans_as_supervisord(string text, bool expected) => Assert.Equal(expected, SupervisordValues.Boolean(text));

    [Fact]
    public void Should_refuse_a_boolean_with_supervisords_words()
    {
        // supervisord -c (autostart=Y): "Error: not a valid boolean value: 'Y' in section 'program:api'"
        Assert.Equal("not a valid boolean value: 'Y'", Assert.Throws<FormatException>(() => SupervisordValues.Boolean("Y")).Message);
    }

    [Theory]
    [InlineData("10MB", 10L * 1024 * 1024)]
    [InlineData("10mb", 10L * 1024 * 1024)]
    [InlineData("10 MB", 10L * 1024 * 1024)] // supervisord accepts it: int('10 ') is 10
    [InlineData("512KB", 512L * 1024)]
    [InlineData("1GB", 1L << 30)]
    [InlineData("1024", 1024L)]
    [InlineData("0", 0L)]
    [InlineData("2MiB", 2L << 20)]
    public void Should_read_byte_sizes_as_supervisord_1024_based(string text, long bytes) => Assert.Equal(bytes, SupervisordValues.ByteSize(text));

    [Theory]
    [InlineData("10XB")]
    [InlineData("MB")]
    [InlineData("-1")]
    [InlineData("1.5MB")]
    public void Should_refuse_a_byte_size_as_supervisord(string text)
    {
        // supervisord (stdout_logfile_maxbytes=10XB): "invalid literal for int() with base 10: '10xb'"
        Assert.StartsWith("invalid literal for int() with base 10", Assert.Throws<FormatException>(() => SupervisordValues.ByteSize(text)).Message);
    }

    [Theory]
    [InlineData("TERM", 15)]
    [InlineData("SIGTERM", 15)]
    [InlineData("sigterm", 15)]
    [InlineData("15", 15)]
    [InlineData("INT", 2)]
    [InlineData("HUP", 1)]
    [InlineData("QUIT", 3)]
    [InlineData("KILL", 9)]
    [InlineData("USR1", 10)]
    [InlineData("usr2", 12)]
    public void Should_read_signals_by_name_or_number(string text, int signal) => Assert.Equal(signal, SupervisordValues.Signal(text));

    [Fact]
    public void Should_refuse_an_unknown_signal_with_supervisords_words()
    {
        // supervisord (stopsignal=FOO): "Error: value 'FOO' is not a valid signal name in section 'program:api'"
        Assert.Equal("value 'FOO' is not a valid signal name", Assert.Throws<FormatException>(() => SupervisordValues.Signal("FOO")).Message);
        Assert.Equal("value '99' is not a valid signal number", Assert.Throws<FormatException>(() => SupervisordValues.Signal("99")).Message);
        Assert.Equal("SIGTERM", SupervisordValues.SignalName(15));
        Assert.Equal("SIGKILL", SupervisordValues.SignalName(9));
    }

    [Theory]
    [InlineData("0", new[] { 0 })]
    [InlineData("0,2", new[] { 0, 2 })]
    [InlineData("0, 2 ,255", new[] { 0, 2, 255 })]
    public void Should_read_exit_codes(string text, int[] codes) => Assert.Equal(codes, SupervisordValues.ExitCodes(text));

    [Theory]
    [InlineData("256")]
    [InlineData("0,x")]
    [InlineData("-1")]
    [InlineData("")]
    public void Should_refuse_exit_codes_as_supervisord(string text)
    {
        // supervisord (exitcodes=256): "not a valid list of exit codes: '256'"
        Assert.Equal($"not a valid list of exit codes: '{text}'", Assert.Throws<FormatException>(() => SupervisordValues.ExitCodes(text)).Message);
    }

    [Theory]
    [InlineData("true", AutoRestart.Always)]
    [InlineData("yes", AutoRestart.Always)]
    [InlineData("false", AutoRestart.Never)]
    [InlineData("0", AutoRestart.Never)]
    [InlineData("unexpected", AutoRestart.Unexpected)]
    [InlineData("UNEXPECTED", AutoRestart.Unexpected)]
    public void Should_read_autorestart_true_false_or_unexpected(string text, AutoRestart expected) =>
        Assert.Equal(expected, SupervisordValues.AutoRestartOf(text));

    [Fact]
    public void Should_refuse_another_autorestart_with_supervisords_words()
    {
        // supervisord (autorestart=maybe): "Error: invalid 'autorestart' value 'maybe' in section 'program:api'"
        Assert.Equal("invalid 'autorestart' value 'maybe'", Assert.Throws<FormatException>(() => SupervisordValues.AutoRestartOf("maybe")).Message);
    }

    private static readonly Dictionary<string, string> Expansions = new()
    {
        ["ENV_API_PORT"] = "8000", ["program_name"] = "api", ["here"] = "/etc/supervisor", ["process_num"] = "0",
    };

    [Theory]
    [InlineData("uvicorn main:app --port %(ENV_API_PORT)s", "uvicorn main:app --port 8000")]
    [InlineData("/var/log/%(program_name)s.log", "/var/log/api.log")]
    [InlineData("%(here)s/app", "/etc/supervisor/app")]
    [InlineData("worker-%(process_num)d", "worker-0")]
    [InlineData("date +%%s", "date +%s")]
    [InlineData("%(process_num)02d|%(program_name)5s|%(program_name)-5s|", "00|  api|api  |")] // Python: '00|  api|api  |'
    [InlineData("no expansion", "no expansion")]
    public void Should_expand_as_pythons_percent_operator_does(string text, string expected) =>
        Assert.Equal(expected, SupervisordValues.Expand(text, Expansions));

    [Fact]
    public void Should_say_which_name_cannot_be_expanded_in_supervisords_words()
    {
        // supervisord 4.2.5 on [program:api] command=uvicorn main:app --port %(ENV_API_PORT_NOPE)s, exit 2:
        // Error: Format string 'uvicorn main:app --port %(ENV_API_PORT_NOPE)s' for 'program:api.command' contains names
        // ('ENV_API_PORT_NOPE') which cannot be expanded. Available names: ENV_AWS_CA_BUNDLE, ... in section 'program:api' (file: 'missing.conf')
        var error = Assert.Throws<MissingExpansionException>(() => SupervisordValues.Expand("uvicorn main:app --port %(ENV_API_PORT_NOPE)s", Expansions));
        Assert.Equal("ENV_API_PORT_NOPE", error.Name);
        Assert.StartsWith("contains names ('ENV_API_PORT_NOPE') which cannot be expanded", error.Message);
        Assert.EndsWith("set the environment variable API_PORT_NOPE", error.Message);
    }

    [Theory]
    [InlineData("date +%s", "'%s' names nothing")] // Python would print the whole mapping there
    [InlineData("50%", "incomplete format")]
    [InlineData("%(ENV_API_PORT", "incomplete format key")]
    [InlineData("%(ENV_API_PORT)z", "unsupported format character 'z' (0x7a) at index 15")]
    [InlineData("%(program_name)d", "a real number is required, not str")]
    public void Should_refuse_a_badly_formatted_value(string text, string reason) =>
        Assert.Contains(reason, Assert.Throws<FormatException>(() => SupervisordValues.Expand(text, Expansions)).Message);

    /// <summary>Each expected list is Python 3.11's shlex.split on the same text.</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "uvicorn main:app --host 0.0.0.0 --port 8000 --reload --reload-delay 2", ["uvicorn", "main:app", "--host", "0.0.0.0", "--port", "8000", "--reload", "--reload-delay", "2"] },
        { "a \"b c\" d", ["a", "b c", "d"] },
        { "a 'b\\ c'", ["a", "b\\ c"] },
        { "a\\ b", ["a b"] },
        { "x\"y z\"w", ["xy zw"] },
        { "\"a\\\"b\"", ["a\"b"] },
        { "\"a\\xb\"", ["a\\xb"] },
        { "'a\\'", ["a\\"] },
        { "\"\"", [""] },
        { "a \"\"", ["a", ""] },
        { "a#b c", ["a#b", "c"] },
        { "a\tb\nc", ["a", "b", "c"] },
        { "/bin/sh -c \"trap '' TERM; sleep 60\"", ["/bin/sh", "-c", "trap '' TERM; sleep 60"] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Should_split_a_command_as_shlex_split(string command, string[] words) => Assert.Equal(words, SupervisordValues.SplitCommand(command));

    [Theory]
    [InlineData("\"abc", "No closing quotation")]
    [InlineData("'abc", "No closing quotation")]
    [InlineData("abc\\", "No escaped character")]
    public void Should_refuse_a_command_as_shlex_does(string command, string error) =>
        Assert.Equal(error, Assert.Throws<FormatException>(() => SupervisordValues.SplitCommand(command)).Message);

    /// <summary>Python's shlex.shlex tokens (supervisord's dict_of_key_value_pairs) on the same text.</summary>
    public static TheoryData<string, string[]> Environments => new()
    {
        { "PATH=\"/usr/local/bin:/usr/bin:/bin\",PYTHONUNBUFFERED=\"1\"", ["PATH=/usr/local/bin:/usr/bin:/bin", "PYTHONUNBUFFERED=1"] },
        { "A=1,B='x y'", ["A=1", "B=x y"] },
        { "A=\"x,y\",B=2", ["A=x,y", "B=2"] },
        { "A=x#y,B=2", ["A=x"] }, // '#' starts a comment in shlex
        { "A=1,A=2", ["A=2"] },
    };

    [Theory]
    [MemberData(nameof(Environments))]
    public void Should_read_an_environment_as_supervisord(string text, string[] pairs) =>
        Assert.Equal(pairs, SupervisordValues.KeyValuePairs(text).Select(p => $"{p.Key}={p.Value}"));

    [Theory]
    [InlineData("A=1,B")]
    [InlineData("A=a*b")]
    [InlineData("A=1 B=2")]
    public void Should_refuse_an_environment_as_supervisord(string text)
    {
        // supervisord (environment=A=1,B): "Unexpected end of key/value pairs in value 'A=1,B'"
        Assert.Equal($"Unexpected end of key/value pairs in value '{text}'", Assert.Throws<FormatException>(() => SupervisordValues.KeyValuePairs(text)).Message);
    }

    [Theory]
    [InlineData(0, null, "exit status 0")]
    [InlineData(3, null, "exit status 3")]
    [InlineData(137, 9, "terminated by SIGKILL")]
    [InlineData(143, 15, "terminated by SIGTERM")]
    public void Should_describe_an_exit_as_supervisord(int code, int? signal, string words)
    {
        var exit = ProcessExit.FromExitCode(code);
        Assert.Equal((signal, words), (exit.Signal, exit.ToString()));
    }
}
