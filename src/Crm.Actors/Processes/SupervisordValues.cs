using System.Globalization;
using System.Text;

namespace Crm.Actors.Processes;

/// <summary>supervisord's <c>autorestart</c> (supervisor/datatypes.py <c>auto_restart</c>).</summary>
public enum AutoRestart
{
    /// <summary><c>false</c>: an exit after RUNNING stays EXITED.</summary>
    Never,
    /// <summary><c>true</c>: any exit after RUNNING is restarted.</summary>
    Always,
    /// <summary><c>unexpected</c> (supervisord's default): restarted unless its exit status is one of exitcodes.</summary>
    Unexpected,
}

/// <summary>
/// supervisord 4.2.5's value types (supervisor/datatypes.py), each parsed as supervisord parses it. A bad value
/// throws <see cref="FormatException"/> with supervisord's own words; the caller adds the section and the key.
/// </summary>
public static class SupervisordValues
{
    private static readonly string[] Truthy = ["yes", "true", "on", "1"];
    private static readonly string[] Falsy = ["no", "false", "off", "0"];

    /// <summary><c>boolean</c>: yes/true/on/1, no/false/off/0, in any case.</summary>
    public static bool Boolean(string value) =>
        Truthy.Contains(value.ToLowerInvariant()) ? true
        : Falsy.Contains(value.ToLowerInvariant()) ? false
        : throw new FormatException($"not a valid boolean value: '{value}'");

    /// <summary><c>integer</c>: Python's int(), which allows surrounding blanks and a sign.</summary>
    public static int Integer(string value) =>
        int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number)
            ? number
            : throw new FormatException($"invalid literal for int() with base 10: '{value}'");

    /// <summary>
    /// <c>byte_size</c>: a whole number with an optional KB, MB or GB (1024-based, any case), as supervisord reads
    /// <c>10MB</c>; KiB, MiB and GiB are read alike (the HOCON spelling of the same sizes).
    /// </summary>
    public static long ByteSize(string value)
    {
        var text = value.Trim().ToLowerInvariant();
        long multiplier = 1;
        foreach (var (suffix, factor) in new (string, long)[] { ("kib", 1L << 10), ("mib", 1L << 20), ("gib", 1L << 30), ("kb", 1L << 10), ("mb", 1L << 20), ("gb", 1L << 30) })
        {
            if (!text.EndsWith(suffix, StringComparison.Ordinal)) continue;
            text = text[..^suffix.Length].Trim();
            multiplier = factor;
            break;
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > long.MaxValue / multiplier)
            throw new FormatException($"invalid literal for int() with base 10: '{value.ToLowerInvariant()}' (expected a size such as 10MB, 512KB or 0)");
        return number * multiplier;
    }

    /// <summary>Linux's signal numbers by name (Python's <c>signal.SIGxxx</c> on Linux).</summary>
    public static IReadOnlyDictionary<string, int> Signals { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["SIGHUP"] = 1, ["SIGINT"] = 2, ["SIGQUIT"] = 3, ["SIGILL"] = 4, ["SIGTRAP"] = 5, ["SIGABRT"] = 6, ["SIGIOT"] = 6,
        ["SIGBUS"] = 7, ["SIGFPE"] = 8, ["SIGKILL"] = 9, ["SIGUSR1"] = 10, ["SIGSEGV"] = 11, ["SIGUSR2"] = 12,
        ["SIGPIPE"] = 13, ["SIGALRM"] = 14, ["SIGTERM"] = 15, ["SIGSTKFLT"] = 16, ["SIGCHLD"] = 17, ["SIGCONT"] = 18,
        ["SIGSTOP"] = 19, ["SIGTSTP"] = 20, ["SIGTTIN"] = 21, ["SIGTTOU"] = 22, ["SIGURG"] = 23, ["SIGXCPU"] = 24,
        ["SIGXFSZ"] = 25, ["SIGVTALRM"] = 26, ["SIGPROF"] = 27, ["SIGWINCH"] = 28, ["SIGIO"] = 29, ["SIGPOLL"] = 29,
        ["SIGPWR"] = 30, ["SIGSYS"] = 31, ["SIGRTMIN"] = 34, ["SIGRTMAX"] = 64,
    };

    /// <summary><c>signal_number</c>: TERM, SIGTERM, sigterm or 15.</summary>
    public static int Signal(string value)
    {
        if (int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            return number is >= 1 and <= 64 ? number : throw new FormatException($"value '{value}' is not a valid signal number");
        var name = value.Trim().ToUpperInvariant();
        if (!name.StartsWith("SIG", StringComparison.Ordinal)) name = "SIG" + name;
        return Signals.TryGetValue(name, out var signal) ? signal : throw new FormatException($"value '{value}' is not a valid signal name");
    }

    /// <summary>supervisord's name for a signal number (<c>signame</c>): SIGTERM, or <c>signal 40</c>.</summary>
    public static string SignalName(int signal) =>
        Signals.Where(s => s.Value == signal).Select(s => s.Key).Order(StringComparer.Ordinal).FirstOrDefault(s => s is not ("SIGIOT" or "SIGPOLL"))
        ?? $"signal {signal}";

    /// <summary><c>list_of_exitcodes</c>: comma-separated numbers from 0 to 255.</summary>
    public static IReadOnlyList<int> ExitCodes(string value)
    {
        var parts = value.Split(',');
        var codes = new List<int>();
        foreach (var part in parts)
        {
            if (!int.TryParse(part.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var code) || code is < 0 or > 255)
                throw new FormatException($"not a valid list of exit codes: '{value}'");
            codes.Add(code);
        }
        return codes;
    }

    /// <summary><c>auto_restart</c>: true/false as <see cref="Boolean"/>, or unexpected.</summary>
    public static AutoRestart AutoRestartOf(string value)
    {
        var text = value.ToLowerInvariant();
        if (Truthy.Contains(text)) return AutoRestart.Always;
        if (Falsy.Contains(text)) return AutoRestart.Never;
        return text == "unexpected" ? AutoRestart.Unexpected : throw new FormatException($"invalid 'autorestart' value '{text}'");
    }

    /// <summary>
    /// Python's <c>%</c> with a mapping, as supervisord expands a value (<c>expand</c> in supervisor/options.py):
    /// <c>%(NAME)s</c> (also <c>d</c>, <c>i</c>), and <c>%%</c> for a literal %. A name that is missing throws with
    /// supervisord's words. A lone <c>%s</c> is refused (Python would print the whole mapping there).
    /// </summary>
    public static string Expand(string value, IReadOnlyDictionary<string, string> expansions)
    {
        var text = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] != '%') { text.Append(value[i]); continue; }
            if (i + 1 >= value.Length) throw new FormatException("is badly formatted: incomplete format (write %% for a literal %)");
            if (value[i + 1] == '%') { text.Append('%'); i++; continue; }
            if (value[i + 1] != '(')
                throw new FormatException($"is badly formatted: '%{value[i + 1]}' names nothing (write %% for a literal %, %(NAME)s for a value)");
            var close = value.IndexOf(')', i + 2);
            if (close < 0) throw new FormatException("is badly formatted: incomplete format key");
            var name = value[(i + 2)..close];
            // Python's conversion flags and width, as in %(process_num)02d.
            var spec = close + 1;
            while (spec < value.Length && "-+ #0".Contains(value[spec])) spec++;
            var flags = value[(close + 1)..spec];
            var widthStart = spec;
            while (spec < value.Length && char.IsAsciiDigit(value[spec])) spec++;
            var width = spec > widthStart ? int.Parse(value[widthStart..spec], CultureInfo.InvariantCulture) : 0;
            if (spec >= value.Length) throw new FormatException("is badly formatted: incomplete format");
            var conversion = value[spec];
            var left = flags.Contains('-');
            var zeros = !left && flags.Contains('0');
            if (!expansions.TryGetValue(name, out var replacement))
            {
                var hint = name.StartsWith("ENV_", StringComparison.Ordinal) ? $": set the environment variable {name[4..]}" : "";
                throw new MissingExpansionException(name, $"contains names ('{name}') which cannot be expanded{hint}");
            }
            string formatted;
            switch (conversion)
            {
                case 's':
                    formatted = replacement;
                    break;
                case 'd' or 'i' when long.TryParse(replacement, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number):
                    formatted = zeros ? number.ToString(new string('0', Math.Max(width, 1)), CultureInfo.InvariantCulture) : number.ToString(CultureInfo.InvariantCulture);
                    break;
                case 'd' or 'i':
                    throw new FormatException($"is badly formatted: %{conversion} format: a real number is required, not str");
                default:
                    throw new FormatException($"is badly formatted: unsupported format character '{conversion}' (0x{(int)conversion:x}) at index {spec}");
            }
            text.Append(left ? formatted.PadRight(width) : formatted.PadLeft(width));
            i = spec;
        }
        return text.ToString();
    }

    /// <summary>
    /// Python's <c>shlex.split</c> (POSIX mode, no comments), which supervisord applies to <c>command</c>: blanks
    /// separate words; '…' keeps everything; "…" keeps everything but \" and \\; \ outside quotes escapes the next
    /// character. Throws "No closing quotation" or "No escaped character" as shlex does.
    /// </summary>
    public static IReadOnlyList<string> SplitCommand(string command)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        var inWord = false;
        for (var i = 0; i < command.Length; i++)
        {
            var c = command[i];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                if (inWord) { words.Add(word.ToString()); word.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            switch (c)
            {
                case '\\':
                    if (++i >= command.Length) throw new FormatException("No escaped character");
                    word.Append(command[i]);
                    break;
                case '\'':
                    var end = command.IndexOf('\'', i + 1);
                    if (end < 0) throw new FormatException("No closing quotation");
                    word.Append(command, i + 1, end - i - 1);
                    i = end;
                    break;
                case '"':
                    for (i++; ; i++)
                    {
                        if (i >= command.Length) throw new FormatException("No closing quotation");
                        if (command[i] == '"') break;
                        if (command[i] == '\\' && i + 1 < command.Length && command[i + 1] is '"' or '\\') i++;
                        else if (command[i] == '\\' && i + 1 >= command.Length) throw new FormatException("No escaped character");
                        word.Append(command[i]);
                    }
                    break;
                default:
                    word.Append(c);
                    break;
            }
        }
        if (inWord) words.Add(word.ToString());
        return words;
    }

    /// <summary>
    /// <c>dict_of_key_value_pairs</c>: <c>KEY="value",KEY2=value2</c> read with Python's non-POSIX <c>shlex</c>
    /// (word characters: letters, digits and <c>_/.+-():</c>; a quoted value keeps commas and blanks; <c>#</c>
    /// starts a comment); surrounding quotes are stripped from each value.
    /// </summary>
    public static IReadOnlyList<KeyValuePair<string, string>> KeyValuePairs(string value)
    {
        var tokens = ShlexTokens(value);
        var pairs = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < tokens.Count; i += 4)
        {
            if (i + 2 >= tokens.Count || tokens[i + 1] != "=")
                throw new FormatException($"Unexpected end of key/value pairs in value '{value}'");
            var pair = new KeyValuePair<string, string>(tokens[i], tokens[i + 2].Trim('\'', '"'));
            var existing = pairs.FindIndex(p => p.Key == pair.Key);
            if (existing >= 0) pairs[existing] = pair; else pairs.Add(pair);
        }
        return pairs;
    }

    /// <summary>Python's <c>shlex.shlex(value)</c> tokens in non-POSIX mode, with supervisord's extra word characters.</summary>
    private static List<string> ShlexTokens(string value)
    {
        static bool IsWordChar(char c) => char.IsAsciiLetterOrDigit(c) || "_/.+-():".Contains(c);
        var tokens = new List<string>();
        var i = 0;
        while (i < value.Length)
        {
            var c = value[i];
            if (c is ' ' or '\t' or '\r' or '\n') { i++; continue; }
            if (c == '#') { i = value.IndexOf('\n', i) is var newline && newline < 0 ? value.Length : newline + 1; continue; }
            if (c is '"' or '\'')
            {
                var end = value.IndexOf(c, i + 1);
                if (end < 0) throw new FormatException("No closing quotation");
                tokens.Add(value[i..(end + 1)]);
                i = end + 1;
                continue;
            }
            if (!IsWordChar(c)) { tokens.Add(c.ToString()); i++; continue; }
            var start = i;
            while (i < value.Length && (IsWordChar(value[i]) || value[i] is '"' or '\'')) i++;
            tokens.Add(value[start..i]);
            if (i < value.Length && value[i] == '#') i = value.IndexOf('\n', i) is var line && line < 0 ? value.Length : line + 1;
        }
        return tokens;
    }
}

/// <summary>A <c>%(NAME)s</c> whose NAME has no value (an environment variable that is not set).</summary>
public sealed class MissingExpansionException(string name, string message) : FormatException(message)
{
    public string Name { get; } = name;
}
