namespace Crm.Actors.Configuration;

/// <summary>
/// An invalid configuration value or argument. The host turns it into exit code 2; the message always names
/// the key and the offending value so an operator can fix it without reading code. The value and the reason are
/// redacted here, once, so that no path can print a password (SPEC §6).
/// </summary>
public sealed class ConfigurationException(string key, string? value, string expectation)
    : Exception($"invalid configuration: {key} = '{Secrets.Redact(value)}': {Secrets.RedactText(expectation)}")
{
    public string Key { get; } = key;
}
