using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Crm.Host.Logging;

/// <summary>The last log lines, kept in memory for <c>crmctl log peek</c> (Petabridge.Cmd's <c>log peek</c>).</summary>
public sealed class LogRing(int capacity) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter _format = new(CrmLogging.Template);
    private readonly Queue<string> _lines = new();
    private int _capacity = capacity;

    public void Emit(LogEvent logEvent)
    {
        if (Volatile.Read(ref _capacity) == 0) return;
        using var text = new StringWriter();
        _format.Format(logEvent, text);
        lock (_lines)
        {
            _lines.Enqueue(text.ToString().TrimEnd());
            while (_lines.Count > _capacity) _lines.Dequeue();
        }
    }

    /// <summary>crm.logging.kept-in-memory, changed by <c>crmctl update</c>.</summary>
    public void Resize(int capacity)
    {
        lock (_lines)
        {
            _capacity = capacity;
            while (_lines.Count > _capacity) _lines.Dequeue();
        }
    }

    public IReadOnlyList<string> Last(int count)
    {
        lock (_lines) return _lines.Skip(Math.Max(0, _lines.Count - count)).ToList();
    }
}
