namespace Crm.Actors.Configuration;

/// <summary>The folders the host writes to, checked before anything starts: a folder that cannot be written is a setting to fix.</summary>
public static class Folders
{
    /// <summary>Creates <paramref name="path"/> if needed and proves a file can be made in it; else throws naming <paramref name="key"/>.</summary>
    public static void EnsureWritable(string key, string path) => EnsureWritable(key, path, path);

    /// <summary>The same for the folder <paramref name="path"/> of a setting whose value is <paramref name="value"/> (a file in it).</summary>
    public static void EnsureWritable(string key, string value, string path)
    {
        try
        {
            Directory.CreateDirectory(path);
            // An existing folder may still refuse files (read-only mount, permissions): try one, as the log will.
            using (File.Create(Path.Combine(path, $".crm-actors-probe-{Environment.ProcessId}"), 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new ConfigurationException(key, value,
                value == path ? $"cannot write a file in this folder ({Reason(e)})" : $"cannot write a file in {path} ({Reason(e)})");
        }
    }

    private static string Reason(Exception e) => e switch
    {
        UnauthorizedAccessException => "permission denied or read-only",
        DirectoryNotFoundException or FileNotFoundException => "a part of the path is missing or is a file",
        IOException when e.Message.Contains("already exists", StringComparison.Ordinal) => "a part of the path is a file",
        _ => e.Message,
    };
}
