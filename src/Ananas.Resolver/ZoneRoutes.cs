using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver;

/// <summary>
/// Forward zone: every name at or below <see cref="Name"/> is sent with RD=1 to <see cref="Servers"/> and their
/// answers are accepted without AA. <c>Name</c> = root forwards everything.
/// </summary>
public sealed record ForwardZone(DnsName Name, IReadOnlyList<IPEndPoint> Servers)
{
    /// <summary>When the forwarders give no usable answer, iterate instead (Unbound <c>forward-first</c>).</summary>
    public bool First { get; init; }

    /// <summary>Ask the forwarders over TCP only (Unbound <c>forward-tcp-upstream</c>).</summary>
    public bool Tcp { get; init; }

    /// <summary>Forwarders reached over DNS-over-TLS (RFC 7858), with the name each one's certificate must carry.</summary>
    public IReadOnlyDictionary<IPEndPoint, string> TlsNames { get; init; } = new Dictionary<IPEndPoint, string>();
}

/// <summary>
/// Stub zone: names at or below <see cref="Name"/> are iterated starting from <see cref="Servers"/> (asked with RD=0,
/// as authorities for the zone) instead of the parent's delegation.
/// </summary>
public sealed record StubZone(DnsName Name, IReadOnlyList<IPEndPoint> Servers)
{
    /// <summary>When the stub's servers give no usable answer, iterate from the parent's delegation instead (Unbound <c>stub-first</c>).</summary>
    public bool First { get; init; }
}
