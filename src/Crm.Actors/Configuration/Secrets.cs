using System.Text.RegularExpressions;

namespace Crm.Actors.Configuration;

/// <summary>
/// Hides passwords in what the host prints. It never needs the text to parse: a URL an operator mistyped is the
/// one most likely to be echoed back, so redaction works on its shape alone, and errs on hiding too much.
/// </summary>
public static partial class Secrets
{
    public const string Mask = "***";

    /// <summary>
    /// One value (a URL, a connection string): the password of its <c>user:password@</c> part, up to the last
    /// <c>@</c> (a raw <c>@</c> in a password is a common mistake), and any <c>password=</c> pair.
    /// </summary>
    public static string Redact(string? value)
    {
        if (string.IsNullOrEmpty(value)) return value ?? "";
        var text = value;
        var scheme = SchemePrefix().Match(text);
        if (scheme.Success)
        {
            var start = scheme.Length;
            var at = text.LastIndexOf('@');
            if (at > start)
            {
                var colon = text.IndexOf(':', start, at - start);
                if (colon >= 0) text = text[..(colon + 1)] + Mask + text[at..];
            }
        }
        else
        {
            text = BareUserInfo().Replace(text, "${user}:" + Mask + "@");
        }
        return PasswordPair().Replace(text, "${name}=" + Mask);
    }

    /// <summary>
    /// Free text (a parser's message) that may quote a URL anywhere: every <c>scheme://user:password@</c> in it
    /// and every <c>password=</c> pair.
    /// </summary>
    public static string RedactText(string? text) =>
        string.IsNullOrEmpty(text) ? text ?? "" : PasswordPair().Replace(UrlInText().Replace(text, "${head}" + Mask + "@"), "${name}=" + Mask);

    [GeneratedRegex(@"^\s*[A-Za-z][A-Za-z0-9+.\-]*://")]
    private static partial Regex SchemePrefix();

    // user:password@host without a scheme; no white space, so that prose such as "Rappel: {title} @ {time}" stays.
    [GeneratedRegex(@"^(?<user>[^\s:/@]+):\S*@")]
    private static partial Regex BareUserInfo();

    [GeneratedRegex(@"(?<head>[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*:)\S*@")]
    private static partial Regex UrlInText();

    [GeneratedRegex(@"(?<name>\b(?:password|pwd))\s*=\s*(?:""[^""]*""|'[^']*'|[^;&\s]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPair();
}
