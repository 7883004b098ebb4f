namespace Crm.Actors.Processes;

/// <summary>
/// A child's output file, rotated as supervisord's <c>RotatingFileHandler</c> (supervisor/loggers.py) does: each
/// write is appended whole, then, once the file holds <see cref="MaxBytes"/> or more, <c>file.N-1</c> becomes
/// <c>file.N</c> ... <c>file</c> becomes <c>file.1</c> (the oldest beyond <see cref="Backups"/> is dropped) and a
/// new empty <c>file</c> is started. MaxBytes 0 never rotates; Backups 0 truncates instead. Opened in append mode,
/// so a restarted program adds to its file and the size already there counts. Thread-safe: stdout and stderr may
/// share one writer (<c>redirect_stderr</c>).
/// </summary>
public sealed class RotatingLogWriter : IDisposable
{
    private readonly object _gate = new();
    private FileStream _stream;

    public string Path { get; }
    public long MaxBytes { get; }
    public int Backups { get; }

    public RotatingLogWriter(string path, long maxBytes, int backups)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        ArgumentOutOfRangeException.ThrowIfNegative(backups);
        Path = path;
        MaxBytes = maxBytes;
        Backups = backups;
        _stream = Open(FileMode.Append);
    }

    private FileStream Open(FileMode mode) => new(Path, mode, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);

    public void Write(ReadOnlySpan<byte> bytes)
    {
        lock (_gate)
        {
            _stream.Write(bytes);
            if (MaxBytes > 0 && _stream.Position >= MaxBytes) Rollover();
        }
    }

    /// <summary>The names every file of this log has, newest first: <c>file</c>, <c>file.1</c> .. <c>file.Backups</c>.</summary>
    public static IEnumerable<string> Names(string path, int backups) => [path, .. Enumerable.Range(1, backups).Select(n => $"{path}.{n}")];

    private void Rollover()
    {
        _stream.Dispose();
        if (Backups > 0)
        {
            for (var i = Backups - 1; i >= 1; i--)
            {
                var source = $"{Path}.{i}";
                if (File.Exists(source)) File.Move(source, $"{Path}.{i + 1}", overwrite: true);
            }
            if (File.Exists(Path)) File.Move(Path, $"{Path}.1", overwrite: true);
        }
        _stream = Open(FileMode.Create);
    }

    public void Dispose()
    {
        lock (_gate) _stream.Dispose();
    }
}
