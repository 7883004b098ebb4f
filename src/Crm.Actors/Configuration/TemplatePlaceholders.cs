namespace Crm.Actors.Configuration;

/// <summary>
/// The placeholders of the notification templates (SPEC §1). NotificationComposer leaves anything else as it is,
/// so a typo such as <c>{titel}</c> would reach every notification word for word.
/// </summary>
public static class TemplatePlaceholders
{
    public static readonly IReadOnlyList<string> Known = ["{title}", "{id}", "{date}", "{time}"];

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
                return $"unknown placeholder {placeholder}; did you mean {KnownKeys.Closest(placeholder, Known)}? "
                    + $"(the placeholders are {string.Join(", ", Known)})";
            i = end;
        }
        return null;
    }
}
