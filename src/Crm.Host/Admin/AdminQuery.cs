using System.Globalization;
using Microsoft.Extensions.Primitives;

namespace Crm.Host.Admin;

/// <summary>
/// The admin API's query values, read by hand rather than bound by ASP.NET: a bad value is the caller's mistake,
/// answered 400 with a message naming the parameter and the value, never an exception (an exception is a 500
/// and an ERROR with a stack trace, which anyone reaching the port could repeat to flood the error log).
/// </summary>
public static class AdminQuery
{
    /// <summary>A value, or why there is none. <see cref="Error"/> is null when the value is usable.</summary>
    public readonly record struct Parsed<T>(T Value, string? Error);

    /// <summary>Values are echoed in errors: cut, so a long query does not come back whole.</summary>
    private const int EchoedLength = 64;

    /// <summary>An optional whole number from 0 to <paramref name="max"/>; null when the parameter is absent.</summary>
    public static Parsed<long?> WholeNumber(string name, StringValues values, long max = long.MaxValue)
    {
        if (values.Count == 0) return new(null, null);
        if (values.Count > 1) return new(null, Repeated(name, values.Count));
        var text = values[0] ?? "";
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= max
            ? new(n, null)
            : new(null, $"{name}={Echo(text)}: expected a whole number from 0 to {max}");
    }

    /// <summary>An optional value among <paramref name="allowed"/>; null when the parameter is absent.</summary>
    public static Parsed<string?> OneOf(string name, StringValues values, params string[] allowed)
    {
        if (values.Count == 0) return new(null, null);
        if (values.Count > 1) return new(null, Repeated(name, values.Count));
        var text = values[0] ?? "";
        return allowed.Contains(text, StringComparer.Ordinal)
            ? new(text, null)
            : new(null, $"{name}={Echo(text)}: expected {string.Join(" or ", allowed)}");
    }

    /// <summary>An optional text value given at most once; null when the parameter is absent.</summary>
    public static Parsed<string?> Text(string name, StringValues values) =>
        values.Count > 1 ? new(null, Repeated(name, values.Count)) : new(values.Count == 0 ? null : values[0], null);

    private static string Repeated(string name, int count) => $"{name}: given {count} times, expected once";

    // As the query spelled it (name=value), without quotes: JSON would escape them as \u0022.
    private static string Echo(string text) => text.Length <= EchoedLength ? text : text[..EchoedLength] + "...";
}
