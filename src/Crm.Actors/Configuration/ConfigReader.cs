using System.Globalization;
using Akka.Configuration;

namespace Crm.Actors.Configuration;

/// <summary>Typed reads that fail with the key and the raw value.</summary>
public sealed class ConfigReader(Config config)
{
    private string Raw(string key)
    {
        if (!config.HasPath(key)) throw new ConfigurationException(key, null, "missing");
        try { return config.GetString(key) ?? ""; }
        catch (Exception) { throw new ConfigurationException(key, "(object)", "expected a single value"); }
    }

    public string String(string key, bool allowEmpty = false)
    {
        var value = Raw(key);
        if (!allowEmpty && string.IsNullOrWhiteSpace(value)) throw new ConfigurationException(key, value, "must not be empty");
        return value;
    }

    /// <summary>A PostgreSQL NOTIFY channel: a plain identifier of at most 63 bytes, or empty (off).</summary>
    public string Channel(string key)
    {
        var value = String(key, allowEmpty: true);
        if (value.Length > 63 || !value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ConfigurationException(key, value, "expected a channel name of letters, digits and _ (at most 63), or \"\" for none");
        return value;
    }

    public string Identifier(string key)
    {
        var value = String(key);
        if (!value.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            throw new ConfigurationException(key, value, "expected an enum value such as INTERACTION_REMINDER");
        return value;
    }

    public string Template(string key)
    {
        var value = String(key);
        return TemplatePlaceholders.Problem(value) is { } problem ? throw new ConfigurationException(key, value, problem) : value;
    }

    public string OneOf(string key, IReadOnlyList<string> allowed)
    {
        var value = Raw(key);
        var match = allowed.FirstOrDefault(a => a.Equals(value, StringComparison.OrdinalIgnoreCase));
        return match ?? throw new ConfigurationException(key, value, $"expected one of {string.Join(", ", allowed)}");
    }

    public int Int(string key, int min, int max)
    {
        var value = Raw(key);
        if (!int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) || number < min || number > max)
            throw new ConfigurationException(key, value, $"expected a whole number from {min} to {max}");
        return number;
    }

    public string Text(string key) => Raw(key);

    public TimeSpan Duration(string key, bool allowZero = false)
    {
        var value = Raw(key);
        TimeSpan duration;
        try { duration = config.GetTimeSpan(key, null, allowInfinite: false); }
        catch (Exception) { throw new ConfigurationException(key, value, "expected a duration such as 500ms, 30s, 5m or 1h"); }
        if (duration < TimeSpan.Zero || (!allowZero && duration == TimeSpan.Zero))
            throw new ConfigurationException(key, value, allowZero ? "expected a duration of zero or more" : "expected a positive duration");
        return duration;
    }

    /// <summary>A duration, or <c>off</c> for none.</summary>
    public TimeSpan? OptionalDuration(string key) =>
        Raw(key).Equals("off", StringComparison.OrdinalIgnoreCase) ? null : Duration(key);

    public bool Bool(string key)
    {
        var value = Raw(key);
        return value.ToLowerInvariant() switch
        {
            "true" or "on" or "yes" => true,
            "false" or "off" or "no" => false,
            _ => throw new ConfigurationException(key, value, "expected true or false"),
        };
    }

    public double Fraction(string key)
    {
        var value = Raw(key);
        if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number is < 0 or > 1)
            throw new ConfigurationException(key, value, "expected a number from 0 to 1");
        return number;
    }

    public long Bytes(string key, long min)
    {
        var value = Raw(key);
        long? bytes;
        try { bytes = config.GetByteSize(key); }
        catch (Exception) { bytes = null; }
        if (bytes is not { } size || size < min)
            throw new ConfigurationException(key, value, $"expected a size of at least {min} bytes, such as 512KiB or 10MB");
        return size;
    }
}
