using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Ananas.Tests.Shared;

/// <summary>Collects log lines so tests can assert on what operators would read.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Lines { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue((logLevel, formatter(state, exception)));

    public IEnumerable<string> Messages(LogLevel level) => Lines.Where(l => l.Level == level).Select(l => l.Message);
}
