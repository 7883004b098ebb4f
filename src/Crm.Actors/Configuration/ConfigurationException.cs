namespace Crm.Actors.Configuration;

/// <summary>
/// An invalid configuration value or argument. The host turns it into exit code 2; the message always names
/// the key and the offending value so an operator can fix it without reading code.
/// </summary>
public sealed class ConfigurationException(string key, string? value, string expectation)
    : Exception($"invalid configuration: {key} = '{value}': {expectation}")
{
    public string Key { get; } = key;
}
