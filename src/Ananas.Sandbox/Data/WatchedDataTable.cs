using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Ananas.Sandbox.Data;

/// <summary>
/// One host data table backed by a file: loaded at plugin load, reloaded when the file changes (a
/// FileSystemWatcher, plus polling of the file's time and size because watchers miss events on some file
/// systems and editors replace files). A reload parses into a new table and swaps one reference, so a lookup
/// sees the old or the new contents, never a mix. A reload that fails keeps the old contents.
/// </summary>
internal sealed class WatchedDataTable : IDisposable
{
    private readonly ILogger _logger;
    private readonly string _plugin;
    private readonly FileSystemWatcher? _watcher;
    private readonly Timer _poll;
    private readonly object _reloadGate = new();
    private volatile DataTableContents _contents;
    private (DateTime, long) _stamp;
    private int _reloadQueued;
    private bool _disposed;

    public DataTableSpec Spec { get; }

    /// <summary>The table name as UTF-8, compared against the guest's bytes without decoding them.</summary>
    public byte[] NameUtf8 { get; }

    public DataTableContents Contents => _contents;

    /// <summary>How many times the contents were (re)loaded; 1 after the initial load.</summary>
    public int Generation { get; private set; }

    public WatchedDataTable(string plugin, DataTableSpec spec, ILogger logger, TimeSpan pollInterval)
    {
        _plugin = plugin;
        Spec = spec;
        NameUtf8 = Encoding.UTF8.GetBytes(spec.Name);
        _logger = logger;
        string path = Path.GetFullPath(spec.Path);
        if (!File.Exists(path))
            throw new PluginLoadException($"plugin {plugin}: data table '{spec.Name}': file {path} does not exist");
        _contents = Load(path) ?? throw new PluginLoadException($"plugin {plugin}: data table '{spec.Name}': cannot read {path}");
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, _) => QueueReload();
            _watcher.Created += (_, _) => QueueReload();
            _watcher.Renamed += (_, _) => QueueReload();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _logger.LogWarning("plugin {Plugin}: data table '{Table}': no file watcher ({Error}); polling only", plugin, spec.Name, e.Message);
        }
        _poll = new Timer(_ => { if (StampChanged()) QueueReload(); }, null, pollInterval, pollInterval);
    }

    private (DateTime, long) ReadStamp(string path)
    {
        var info = new FileInfo(path);
        return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
    }

    private bool StampChanged()
    {
        lock (_reloadGate) return !_disposed && ReadStamp(Path.GetFullPath(Spec.Path)) != _stamp;
    }

    private void QueueReload()
    {
        // Coalesce bursts of events (an editor writes a file in several steps) into one reload shortly after.
        if (Interlocked.Exchange(ref _reloadQueued, 1) == 1) return;
        _ = Task.Delay(100).ContinueWith(_ =>
        {
            Interlocked.Exchange(ref _reloadQueued, 0);
            Reload();
        }, TaskScheduler.Default);
    }

    /// <summary>Reloads now if the file changed since the last load (also called by the watcher and the poll).</summary>
    public void Reload()
    {
        lock (_reloadGate)
        {
            if (_disposed) return;
            string path = Path.GetFullPath(Spec.Path);
            if (ReadStamp(path) == _stamp) return;
            var contents = Load(path);
            if (contents is not null) _contents = contents;
        }
    }

    /// <summary>
    /// Replaces the contents with <paramref name="bytes"/> in the table's format (a guest's data_fetch_start): parsed
    /// aside and swapped in one write. The file stays the source after a later change to it.
    /// </summary>
    public DataTableContents Replace(byte[] bytes, string source)
    {
        var started = Stopwatch.GetTimestamp();
        var contents = DataTableContents.Parse(bytes, Spec.Format);
        lock (_reloadGate)
        {
            if (_disposed) return contents;
            _contents = contents;
            Generation++;
        }
        _logger.LogInformation("plugin {Plugin}: data table '{Table}' replaced from {Source}: {Contents} in {Ms:F0} ms",
            _plugin, Spec.Name, source, contents, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return contents;
    }

    private DataTableContents? Load(string path)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var stamp = ReadStamp(path);
            byte[] bytes = File.ReadAllBytes(path);
            var contents = DataTableContents.Parse(bytes, Spec.Format);
            _stamp = stamp;
            Generation++;
            _logger.LogInformation("plugin {Plugin}: data table '{Table}' {Action} from {Path}: {Contents} in {Ms:F0} ms",
                _plugin, Spec.Name, Generation == 1 ? "loaded" : "reloaded", path, contents, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return contents;
        }
        catch (IOException e)
        {
            _logger.LogWarning("plugin {Plugin}: data table '{Table}': cannot read {Path} ({Error}); keeping the previous contents", _plugin, Spec.Name, path, e.Message);
            return null;
        }
        catch (UnauthorizedAccessException e)
        {
            _logger.LogWarning("plugin {Plugin}: data table '{Table}': cannot read {Path} ({Error}); keeping the previous contents", _plugin, Spec.Name, path, e.Message);
            return null;
        }
    }

    public void Dispose()
    {
        lock (_reloadGate) _disposed = true;
        _watcher?.Dispose();
        _poll.Dispose();
    }
}
