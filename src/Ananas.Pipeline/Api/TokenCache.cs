using System.Collections.Concurrent;
using Ananas.Pipeline.Database;

namespace Ananas.Pipeline.Api;

/// <summary>
/// API tokens the database confirmed, kept for <c>api.token-cache</c> so that a request does not take a database
/// round trip to authenticate: a token deleted from the database stops working within that time. Only known tokens
/// are kept (a client guessing secrets cannot fill it), keyed by the secret's SHA-256, at most
/// <see cref="MaxEntries"/> of them (full: emptied, and refilled by the next lookups).
/// </summary>
public sealed class TokenCache(TimeSpan lifetime, TimeProvider? time = null)
{
    public const int MaxEntries = 10_000;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ConcurrentDictionary<string, (TokenRow Token, long ExpiresTicks)> _tokens = new(StringComparer.Ordinal);

    /// <summary>The token whose secret this is, from the cache or else from <paramref name="lookup"/>.</summary>
    public async ValueTask<TokenRow?> FindAsync(string secret, Func<string, CancellationToken, Task<TokenRow?>> lookup, CancellationToken cancellationToken)
    {
        if (lifetime <= TimeSpan.Zero) return await lookup(secret, cancellationToken);
        string key = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
        long now = _time.GetTimestamp();
        if (_tokens.TryGetValue(key, out var cached) && now < cached.ExpiresTicks) return cached.Token;
        var token = await lookup(secret, cancellationToken);
        if (token is null)
        {
            _tokens.TryRemove(key, out _);
            return null;
        }
        if (_tokens.Count >= MaxEntries) _tokens.Clear();
        _tokens[key] = (token, now + (long)(lifetime.TotalSeconds * _time.TimestampFrequency));
        return token;
    }

    public int Count => _tokens.Count;
}
