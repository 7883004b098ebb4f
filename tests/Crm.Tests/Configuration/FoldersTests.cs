using Crm.Actors.Configuration;

namespace Crm.Tests.Configuration;

public class FoldersTests
{
    [Fact]
    public void Should_exit_2_naming_the_key_when_a_folder_lies_under_a_regular_file()
    {
        var file = Path.GetTempFileName();
        try
        {
            var error = Assert.Throws<ConfigurationException>(() => Folders.EnsureWritable("CRM_LOG_DIR", Path.Combine(file, "logs")));
            Assert.Equal("CRM_LOG_DIR", error.Key);
            Assert.Contains($"CRM_LOG_DIR = '{Path.Combine(file, "logs")}': cannot write a file in this folder", error.Message);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Should_create_a_missing_folder_and_leave_no_probe_behind()
    {
        var folder = Path.Combine(Directory.CreateTempSubdirectory("crm-folders-").FullName, "a", "b");
        Folders.EnsureWritable("crm.logging.dir", folder);
        Assert.True(Directory.Exists(folder));
        Assert.Empty(Directory.EnumerateFileSystemEntries(folder));
    }
}
