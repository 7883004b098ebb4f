using System.Text;
using Crm.Actors.Processes;

namespace Crm.Tests.Processes;

public class RotatingLogWriterTests
{
    private readonly string _folder = Directory.CreateTempSubdirectory("crm-rotation-").FullName;

    private string Log => Path.Combine(_folder, "api.log");

    private static void Write(RotatingLogWriter writer, string text) => writer.Write(Encoding.UTF8.GetBytes(text));

    private string[] Files() => [.. Directory.GetFiles(_folder).Select(Path.GetFileName).Order(StringComparer.Ordinal)!];

    [Fact]
    public void Should_rotate_at_maxbytes_keeping_backups_under_supervisords_names()
    {
        using (var writer = new RotatingLogWriter(Log, maxBytes: 10, backups: 2))
        {
            foreach (var line in new[] { "first-----\n", "second----\n", "third-----\n", "fourth----\n" }) Write(writer, line);
            Write(writer, "fifth");
        }

        // supervisord's RotatingFileHandler: a record is written whole, then the file rolls once it holds maxbytes;
        // api.log.1 is the newest backup, the oldest beyond backups is gone.
        Assert.Equal(["api.log", "api.log.1", "api.log.2"], Files());
        Assert.Equal("fifth", File.ReadAllText(Log));
        Assert.Equal("fourth----\n", File.ReadAllText(Log + ".1"));
        Assert.Equal("third-----\n", File.ReadAllText(Log + ".2"));
    }

    [Fact]
    public void Should_never_rotate_with_maxbytes_0()
    {
        using (var writer = new RotatingLogWriter(Log, maxBytes: 0, backups: 3))
            for (var i = 0; i < 100; i++) Write(writer, "0123456789");
        Assert.Equal(["api.log"], Files());
        Assert.Equal(1000, new FileInfo(Log).Length);
    }

    [Fact]
    public void Should_truncate_in_place_with_no_backups()
    {
        using (var writer = new RotatingLogWriter(Log, maxBytes: 5, backups: 0))
        {
            Write(writer, "123456");
            Write(writer, "ab");
        }
        Assert.Equal(["api.log"], Files());
        Assert.Equal("ab", File.ReadAllText(Log));
    }

    [Fact]
    public void Should_append_to_what_a_restarted_program_wrote_before_and_count_it()
    {
        File.WriteAllText(Log, "12345678");
        using (var writer = new RotatingLogWriter(Log, maxBytes: 10, backups: 1)) Write(writer, "90");
        Assert.Equal("1234567890", File.ReadAllText(Log + ".1"));
        Assert.Equal("", File.ReadAllText(Log));
    }
}
