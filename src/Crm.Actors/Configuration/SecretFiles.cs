namespace Crm.Actors.Configuration;

/// <summary>
/// Docker's and Kubernetes' convention for secrets: <c>VAR_FILE</c> names a file (a mounted secret) that holds
/// <c>VAR</c>'s value, so that the value is in no environment listing (<c>docker inspect</c>,
/// <c>/proc/PID/environ</c>, a pod's spec). As the official images' entrypoints do, setting both is an error: which
/// one wins would be a guess.
/// </summary>
public static class SecretFiles
{
    public const string Suffix = "_FILE";

    /// <summary>The host's secrets that may come from a file.</summary>
    public static readonly IReadOnlyList<string> HostSecrets = ["DATABASE_URL", "CRM_ADMIN_TOKEN"];

    /// <summary>
    /// <paramref name="environment"/> with each <c>NAME_FILE</c> of <paramref name="names"/> read into <c>NAME</c>;
    /// a file that cannot be read, an empty one, or <c>NAME</c> set as well is a <see cref="ConfigurationException"/>
    /// naming <c>NAME_FILE</c> (and its path, never its content).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> Resolve(IReadOnlyDictionary<string, string?> environment, IEnumerable<string> names)
    {
        Dictionary<string, string?>? resolved = null;
        foreach (var name in names)
        {
            if (environment.GetValueOrDefault(name + Suffix) is not { Length: > 0 } path) continue;
            if (environment.GetValueOrDefault(name) is { Length: > 0 })
                throw new ConfigurationException(name + Suffix, path, $"{name} is set as well: set one of them, not both");
            resolved ??= new Dictionary<string, string?>(environment);
            resolved[name] = Read(name + Suffix, path);
        }
        return resolved ?? environment;
    }

    /// <summary>The file's text without its last line breaks (<c>echo secret &gt; file</c> writes one).</summary>
    public static string Read(string key, string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigurationException(key, path, $"cannot be read: {e.Message}");
        }
        var value = text.TrimEnd('\r', '\n');
        return value.Trim().Length > 0 ? value : throw new ConfigurationException(key, path, "the file is empty");
    }
}

/// <summary>
/// A secret held in settings: its text only through <see cref="Reveal"/>, never through <see cref="ToString"/>, so
/// that a record printing its members (an error, a log line) prints <see cref="Secrets.Mask"/>.
/// </summary>
public sealed class SecretText(string value) : IEquatable<SecretText>
{
    public string Reveal() => value;

    public override string ToString() => Secrets.Mask;

    public bool Equals(SecretText? other) => other is not null && string.Equals(value, other.Reveal(), StringComparison.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as SecretText);

    public override int GetHashCode() => value.GetHashCode(StringComparison.Ordinal);

    public static bool operator ==(SecretText? left, SecretText? right) => Equals(left, right);

    public static bool operator !=(SecretText? left, SecretText? right) => !Equals(left, right);

    /// <summary>Null for an unset or empty value: no secret.</summary>
    public static SecretText? From(string? value) => string.IsNullOrEmpty(value) ? null : new SecretText(value);
}
