namespace Ananas.Server.Hosting;

/// <summary>
/// Calls back when a configuration file changes. Editors save in several steps (truncate and write, or write a
/// temporary file and rename it over), so events are collected for <see cref="Settle"/> and reported once; the
/// directory is watched, not the file, so that a rename-over is seen too.
/// </summary>
public sealed class ConfigFileWatcher : IDisposable
{
    /// <summary>Quiet time after the last event before the change is reported.</summary>
    public static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    private readonly FileSystemWatcher _watcher;
    private readonly Timer _timer;

    public ConfigFileWatcher(string path, Action changed)
    {
        var full = Path.GetFullPath(path);
        _timer = new Timer(_ => changed(), null, Timeout.Infinite, Timeout.Infinite);
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(full)!, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnEvent;
        _watcher.Created += OnEvent;
        _watcher.Renamed += OnEvent;
        _watcher.EnableRaisingEvents = true;
    }

    private void OnEvent(object sender, FileSystemEventArgs e) => _timer.Change(Settle, Timeout.InfiniteTimeSpan);

    public void Dispose()
    {
        _watcher.Dispose();
        _timer.Dispose();
    }
}
