using System.Drawing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Crm.Tests.Support;

/// <summary>
/// A real, headless Chromium driven by Selenium WebDriver: Debian's <c>chromium</c> and <c>chromium-driver</c>
/// (test.sh installs them when missing; CRM_CHROMIUM and CRM_CHROMEDRIVER point elsewhere). Nothing is downloaded:
/// the driver and the browser are given by path, so Selenium Manager never runs. Each browser gets a fresh profile.
/// Errors the page meets (uncaught exceptions, rejected promises, Content-Security-Policy violations) are collected
/// from the first script on, beside the browser's own console log.
/// </summary>
public sealed class Browser : IDisposable
{
    private const string ErrorCollector = """
        window.__pageErrors = [];
        addEventListener('error', e => window.__pageErrors.push('error: ' + (e.message || e.target?.src || e.target?.href || e.type)), true);
        addEventListener('unhandledrejection', e => window.__pageErrors.push('unhandled rejection: ' + e.reason));
        addEventListener('securitypolicyviolation', e => window.__pageErrors.push('CSP: ' + e.violatedDirective + ' ' + e.blockedURI));
        """;

    private readonly string _profile;
    public ChromeDriver Driver { get; }

    public Browser(int width = 1280, int height = 1600)
    {
        var chromium = Environment.GetEnvironmentVariable("CRM_CHROMIUM") ?? "/usr/bin/chromium";
        var chromedriver = Environment.GetEnvironmentVariable("CRM_CHROMEDRIVER") ?? "/usr/bin/chromedriver";
        foreach (var file in new[] { chromium, chromedriver })
            if (!File.Exists(file))
                throw new InvalidOperationException($"{file} is missing: run ./test.sh, which installs Debian's chromium and chromium-driver");

        _profile = Directory.CreateTempSubdirectory("crm-chromium-").FullName;
        var options = new ChromeOptions { BinaryLocation = chromium };
        options.AddArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
            $"--user-data-dir={_profile}", $"--window-size={width},{height}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(chromedriver)!, Path.GetFileName(chromedriver));
        service.SuppressInitialDiagnosticInformation = true;
        service.HideCommandPromptWindow = true;
        try
        {
            Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(90));
            Driver.ExecuteCdpCommand("Page.addScriptToEvaluateOnNewDocument", new Dictionary<string, object?> { ["source"] = ErrorCollector });
        }
        catch
        {
            service.Dispose();
            Directory.Delete(_profile, recursive: true);
            throw;
        }
    }

    public void Open(string url) => Driver.Navigate().GoToUrl(url);

    /// <summary>Waits for <paramref name="condition"/>, polling; fails naming <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public T Until<T>(Func<IWebDriver, T> condition, string what, TimeSpan? timeout = null)
    {
        var wait = new WebDriverWait(Driver, timeout ?? TimeSpan.FromSeconds(30)) { PollingInterval = TimeSpan.FromMilliseconds(100), Message = what };
        wait.IgnoreExceptionTypes(typeof(NoSuchElementException), typeof(StaleElementReferenceException));
        return wait.Until(condition);
    }

    public object? Script(string script, params object[] args) => Driver.ExecuteScript(script, args);

    /// <summary>Console errors and page errors so far (the browser's log is drained by each call).</summary>
    public IReadOnlyList<string> Errors()
    {
        var console = Driver.Manage().Logs.GetLog(LogType.Browser)
            .Where(entry => entry.Level >= LogLevel.Severe)
            .Select(entry => $"console: {entry.Message}");
        var page = (Script("return window.__pageErrors || [];") as IEnumerable<object> ?? []).Select(e => e.ToString()!);
        return [.. console, .. page];
    }

    /// <summary>A PNG of the whole page: the window is grown to the document's height first.</summary>
    public void Screenshot(string path)
    {
        var width = Driver.Manage().Window.Size.Width;
        var height = Convert.ToInt32(Script("return Math.ceil(document.documentElement.scrollHeight);"));
        Driver.Manage().Window.Size = new Size(width, height + 100);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Driver.GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        try { Driver.Quit(); }
        finally
        {
            try { Directory.Delete(_profile, recursive: true); } catch (IOException) { } // a helper process may still hold a file
        }
    }
}
