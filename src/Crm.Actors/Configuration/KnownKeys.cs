using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Crm.Actors.Configuration;

/// <summary>
/// The keys under <c>crm</c> are the ones <c>hocon/crm.conf</c> documents: an operator's typo
/// (<c>crm.reminders.intervall</c>) would otherwise leave the default silently in force. Program names under
/// <c>crm.programs</c> are free, their keys are those of <c>crm.programs.default</c>. Keys outside
/// <c>crm</c> belong to Akka and stay free.
/// </summary>
public static class KnownKeys
{
    private const string Programs = "crm.programs.";
    private const string TemplateProgram = "default";

    /// <summary>Throws for the first key of <paramref name="overrides"/> (in file order) that is not documented.</summary>
    /// <param name="programKeys">Keys a program's section may also have beyond the supervision keys (a program kind's own).</param>
    public static void Check(Config overrides, Config defaults, IEnumerable<string>? programKeys = null)
    {
        var known = Leaves(defaults.Root, "").Where(leaf => leaf.Path.StartsWith("crm.", StringComparison.Ordinal))
            .Select(leaf => Generic(leaf.Path))
            .Concat((programKeys ?? []).Select(key => Programs + TemplateProgram + "." + key))
            .ToHashSet(StringComparer.Ordinal);
        foreach (var (path, value) in Leaves(overrides.Root, ""))
        {
            if (path != "crm" && !path.StartsWith("crm.", StringComparison.Ordinal)) continue;
            if (Problem(path, value.IsObject(), known) is { } problem)
                throw new ConfigurationException(path, Text(value), problem);
        }
    }

    /// <summary>
    /// Why <paramref name="path"/> may not be set (null when it may): an unknown key, or a section given a value.
    /// <paramref name="isSection"/> is true for an empty section, <c>crm.reminders {}</c>.
    /// </summary>
    public static string? Problem(string path, bool isSection, IReadOnlySet<string> known)
    {
        var generic = Generic(path);
        var sectionPrefix = generic + ".";
        var isKnownSection = known.Any(k => k.StartsWith(sectionPrefix, StringComparison.Ordinal));
        if (isSection) return isKnownSection ? null : Unknown(path, known);
        if (known.Contains(generic)) return null;
        if (!isKnownSection) return Unknown(path, known);
        var example = known.Where(k => k.StartsWith(sectionPrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal).First();
        return $"is a section, not a value: set the keys inside it, such as {Specific(example, path)}";
    }

    private static string Unknown(string path, IReadOnlySet<string> known) =>
        Closest(Generic(path), known) is { } closest ? $"unknown key; did you mean {Specific(closest, path)}?" : "unknown key";

    /// <summary>
    /// The candidate nearest to <paramref name="word"/>: first by the last dotted segment (a key in the wrong
    /// section finds its right place), then by the whole path; ties go to the first in order.
    /// </summary>
    public static string? Closest(string word, IEnumerable<string> candidates) =>
        candidates.Order(StringComparer.Ordinal)
            .MinBy(c => (Distance(LastSegment(word), LastSegment(c)), Distance(word, c)));

    private static string LastSegment(string path) => path[(path.LastIndexOf('.') + 1)..];

    /// <summary>
    /// Edit distance counting insertions, deletions, substitutions and swaps of two neighbours (the typist's
    /// commonest slip, <c>{titel}</c>) as one each: Damerau-Levenshtein's optimal string alignment.
    /// </summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j], d[i, j - 1]) + 1, d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    /// <summary><c>crm.programs.NAME.key</c> as the documented <c>crm.programs.default.key</c>.</summary>
    private static string Generic(string path)
    {
        if (!path.StartsWith(Programs, StringComparison.Ordinal)) return path;
        var dot = path.IndexOf('.', Programs.Length);
        return Programs + TemplateProgram + (dot < 0 ? "" : path[dot..]);
    }

    /// <summary>A documented key, for the program <paramref name="path"/> names.</summary>
    private static string Specific(string generic, string path)
    {
        if (!path.StartsWith(Programs, StringComparison.Ordinal) || !generic.StartsWith(Programs, StringComparison.Ordinal)) return generic;
        var dot = path.IndexOf('.', Programs.Length);
        var name = dot < 0 ? path[Programs.Length..] : path[Programs.Length..dot];
        return Programs + name + generic[(Programs.Length + TemplateProgram.Length)..];
    }

    /// <summary>Every value's path, and every empty section's, in file order.</summary>
    private static IEnumerable<(string Path, HoconValue Value)> Leaves(HoconValue value, string path, int depth = 0)
    {
        // A substitution that resolves to a section containing itself (Akka's parser does that for an optional
        // ${?X} it cannot find) would never end.
        if (depth > 32) throw new ConfigurationException(path, Text(value), "refers to itself");
        if (!value.IsObject() || value.GetObject() is not { Items.Count: > 0 } section)
        {
            if (path.Length > 0) yield return (path, value);
            yield break;
        }
        foreach (var (key, child) in section.Items)
            foreach (var leaf in Leaves(child, path.Length == 0 ? key : $"{path}.{key}", depth + 1))
                yield return leaf;
    }

    private static string Text(HoconValue value)
    {
        if (value.Values.FirstOrDefault() is HoconSubstitution substitution) return "${" + substitution.Path + "}";
        if (value.IsObject()) return "{...}";
        if (value.IsArray()) return "[...]";
        try { return value.GetString() ?? ""; }
        catch (Exception) { return "?"; }
    }
}
