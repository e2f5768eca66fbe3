namespace Ananas.Server.Pipeline;

/// <summary>
/// The per-thread shares of a set of counts: each share is written by one thread alone with plain adds (an uncontended
/// locked add still costs tens of cycles), summed with the shared counts when read, and folded into them when its
/// thread stops. Reading and folding hold one lock, so a reader never sees a share's counts twice or not at all.
/// </summary>
internal sealed class ThreadShares<T> where T : class
{
    private readonly object _lock = new();
    private T[] _shares = [];

    public T Add(T share)
    {
        lock (_lock) _shares = [.. _shares, share];
        return share;
    }

    /// <summary>Removes <paramref name="share"/> and hands it to <paramref name="fold"/>, which adds it to the shared counts.</summary>
    public void Remove(T share, Action<T> fold)
    {
        lock (_lock)
        {
            _shares = Array.FindAll(_shares, s => !ReferenceEquals(s, share));
            fold(share);
        }
    }

    /// <summary>What <paramref name="read"/> makes of the live shares, with no share folded in meanwhile (read the shared counts inside it).</summary>
    public TResult Read<TResult>(Func<T[], TResult> read)
    {
        lock (_lock) return read(_shares);
    }

    /// <summary><paramref name="shared"/> plus every share's <paramref name="part"/>.</summary>
    public long Sum(ref long shared, Func<T, long> part)
    {
        lock (_lock)
        {
            long n = Interlocked.Read(ref shared);
            foreach (var share in _shares) n += part(share);
            return n;
        }
    }
}
