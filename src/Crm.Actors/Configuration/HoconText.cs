namespace Crm.Actors.Configuration;

/// <summary>
/// What Akka's HOCON parser lets through: it reads an unclosed <c>{</c>, a stray <c>}</c> or an unterminated
/// string to the end of the file without a word, and makes keys of binary bytes. A file with any of these is not
/// what its author meant, so the host refuses it before parsing.
/// </summary>
public static class HoconText
{
    /// <summary>The first structural problem of <paramref name="text"/> and its line (1-based), or null.</summary>
    public static (int Line, string Problem)? Problem(string text)
    {
        var line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') line++;
            // File.ReadAllText turns bytes that are not UTF-8 into U+FFFD.
            else if (c == '\uFFFD') return (line, "bytes that are not UTF-8 text (a binary file?)");
            else if (char.IsControl(c) && c is not ('\t' or '\r')) return (line, $"control character U+{(int)c:X4} (a binary file?)");
        }

        var open = new Stack<(char Bracket, int Line)>();
        line = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    line++;
                    break;
                case '#':
                case '/' when At(text, i, "//"):
                    while (i + 1 < text.Length && text[i + 1] != '\n') i++;
                    break;
                case '"' when At(text, i, "\"\"\""):
                    var end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                    if (end < 0) return (line, "a \"\"\" string is never closed");
                    while (end + 3 < text.Length && text[end + 3] == '"') end++; // """a"""" ends with the last three
                    line += text.AsSpan(i, end + 3 - i).Count('\n');
                    i = end + 2;
                    break;
                case '"':
                    for (i++; i < text.Length && text[i] != '"'; i++)
                    {
                        if (text[i] == '\n') return (line, "a quoted string is not closed on its line");
                        if (text[i] == '\\') i++;
                    }
                    if (i >= text.Length) return (line, "a quoted string is never closed");
                    break;
                case '$' when At(text, i, "${"):
                    var close = text.IndexOfAny(['}', '\n'], i);
                    if (close < 0 || text[close] == '\n') return (line, "a ${ substitution is not closed on its line");
                    i = close;
                    break;
                case '{' or '[':
                    open.Push((c, line));
                    break;
                case '}' or ']':
                    if (!open.TryPop(out var opener)) return (line, $"'{c}' closes nothing");
                    if (opener.Bracket != (c == '}' ? '{' : '['))
                        return (line, $"'{c}' closes the '{opener.Bracket}' of line {opener.Line}");
                    break;
            }
        }
        return open.TryPop(out var unclosed) ? (unclosed.Line, $"'{unclosed.Bracket}' is never closed") : null;
    }

    private static bool At(string text, int index, string token) => string.CompareOrdinal(text, index, token, 0, token.Length) == 0;
}
