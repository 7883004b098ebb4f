using Crm.Actors.Domain;

namespace Crm.Actors.Configuration;

/// <summary>
/// The placeholders of the notification templates (SPEC §1), those <see cref="NotificationComposer"/> fills. It
/// leaves anything else as it is, so a typo such as <c>{titel}</c> would reach every notification word for word.
/// </summary>
public static class TemplatePlaceholders
{
    public static readonly IReadOnlyList<string> Known = NotificationComposer.Placeholders.Select(name => $"{{{name}}}").ToArray();

    /// <summary>Why <paramref name="template"/> is not a valid template, or null.</summary>
    public static string? Problem(string template)
    {
        for (var i = 0; i < template.Length; i++)
        {
            if (template[i] == '}') return "a '}' closes no placeholder";
            if (template[i] != '{') continue;
            var end = template.IndexOfAny(['{', '}'], i + 1);
            if (end < 0 || template[end] == '{') return $"the placeholder '{template[i..(end < 0 ? template.Length : end)]}' is not closed";
            var placeholder = template[i..(end + 1)];
            if (!Known.Contains(placeholder))
                return $"unknown placeholder {placeholder}; {Advice(placeholder)}";
            i = end;
        }
        return null;
    }

    // A near miss ({titel}) is named; a far one ({foo}) would only mislead.
    private static string Advice(string placeholder)
    {
        var all = $"the placeholders are {string.Join(", ", Known)}";
        var typed = placeholder.ToLowerInvariant();
        return KnownKeys.Closest(typed, Known) is { } closest && KnownKeys.Distance(typed, closest) <= 2
            ? $"did you mean {closest}? ({all})"
            : all;
    }
}
