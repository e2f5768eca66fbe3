using Microsoft.Extensions.Logging;

namespace Ananas.Server.Hosting;

/// <summary>
/// The minimum log level, changeable while running (<c>log.level</c> on a config reload). The logger factory is
/// built with a filter that asks <see cref="Allows"/>, so a change takes effect for every logger at once.
/// </summary>
public sealed class LogLevelSwitch(LogLevel level)
{
    private int _level = (int)level;

    public LogLevel Level
    {
        get => (LogLevel)Volatile.Read(ref _level);
        set => Volatile.Write(ref _level, (int)value);
    }

    public bool Allows(LogLevel level) => level != LogLevel.None && level >= Level;
}
