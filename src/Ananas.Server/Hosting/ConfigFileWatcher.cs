namespace Ananas.Server.Hosting;

/// <summary>
/// Calls back when a configuration file changes. It polls the file's modification time and size rather than
/// using a FileSystemWatcher: inotify watches the whole directory, so a busy neighbour (a log or a benchmark's
/// output written beside the config) woke the server on every write and doubled its CPU per query. A stat every
/// <see cref="PollInterval"/> costs nothing by comparison. Editors save in several steps (truncate and write, or
/// write a temporary file and rename it over), so a change is reported once the file has stayed the same for one
/// poll; a rename-over is seen like any other change.
/// </summary>
public sealed class ConfigFileWatcher : IDisposable
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest time from a finished write to the callback.</summary>
    public static readonly TimeSpan Settle = PollInterval * 2;

    private readonly string _path;
    private readonly Action _changed;
    private readonly Timer _timer;
    private readonly Lock _lock = new();
    private (DateTime Written, long Length) _reported;
    private (DateTime Written, long Length)? _pending;

    public ConfigFileWatcher(string path, Action changed)
    {
        _path = Path.GetFullPath(path);
        _changed = changed;
        _reported = Stamp();
        _timer = new Timer(_ => Poll(), null, PollInterval, PollInterval);
    }

    private (DateTime, long) Stamp()
    {
        var info = new FileInfo(_path);
        // A file missing for a moment (mid rename) reads as its own state; the next poll sees the new file.
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    private void Poll()
    {
        bool report = false;
        lock (_lock)
        {
            (DateTime, long) now;
            try
            {
                now = Stamp();
            }
            catch (IOException)
            {
                return;
            }
            if (now == _reported) _pending = null;
            else if (_pending == now)
            {
                // Unchanged since the last poll: the write is finished.
                _reported = now;
                _pending = null;
                report = now.Item2 >= 0;
            }
            else _pending = now;
        }
        if (report) _changed();
    }

    public void Dispose() => _timer.Dispose();
}
