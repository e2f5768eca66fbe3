using System.Collections.Concurrent;
using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Infrastructure;

/// <summary>A thread-safe <see cref="ILameServerList"/> whose marks expire after a hold-down on the injected clock.</summary>
public sealed class LameServerList(IClock clock, TimeSpan holdDown) : ILameServerList
{
    private readonly ConcurrentDictionary<(IPAddress Server, DnsName Zone), DateTimeOffset> _until = new();

    public bool IsLame(IPAddress server, DnsName zone)
    {
        if (!_until.TryGetValue((server, zone), out var until)) return false;
        if (until > clock.UtcNow) return true;
        _until.TryRemove(new KeyValuePair<(IPAddress, DnsName), DateTimeOffset>((server, zone), until));
        return false;
    }

    public void MarkLame(IPAddress server, DnsName zone, Lameness reason) => _until[(server, zone)] = clock.UtcNow + holdDown;
}
