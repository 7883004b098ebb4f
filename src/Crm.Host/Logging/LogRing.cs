using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace Crm.Host.Logging;

/// <summary>The last log lines, kept in memory for <c>crmctl log peek</c> (Petabridge.Cmd's <c>log peek</c>).</summary>
public sealed class LogRing(int capacity) : ILogEventSink
{
    private readonly MessageTemplateTextFormatter _format = new(CrmLogging.Template);
    private readonly Queue<string> _lines = new();

    public void Emit(LogEvent logEvent)
    {
        if (capacity == 0) return;
        using var text = new StringWriter();
        _format.Format(logEvent, text);
        lock (_lines)
        {
            _lines.Enqueue(text.ToString().TrimEnd());
            while (_lines.Count > capacity) _lines.Dequeue();
        }
    }

    public IReadOnlyList<string> Last(int count)
    {
        lock (_lines) return _lines.Skip(Math.Max(0, _lines.Count - count)).ToList();
    }
}
