namespace Ananas.Authoritative.Answering;

/// <summary>How the authoritative answerer behaves (the <c>[authoritative]</c> configuration section and the flags of <c>ananas auth serve</c>).</summary>
public sealed record AuthoritativeOptions
{
    /// <summary>The EDNS UDP payload size we advertise and send at most (RFC 6891; 1232 avoids fragmentation, DNS Flag Day 2020).</summary>
    public ushort UdpPayload { get; init; } = 1232;

    /// <summary>CNAME and DNAME redirections followed in one answer (the rest is left to the client).</summary>
    public int MaxChain { get; init; } = 8;

    /// <summary>Answer for CH TXT <c>id.server</c> / <c>hostname.bind</c>; null (the default) refuses them.</summary>
    public string? Identity { get; init; }

    /// <summary>Answer for CH TXT <c>version.bind</c> / <c>version.server</c>; null (the default) refuses them.</summary>
    public string? Version { get; init; }

    /// <summary>Online DNSSEC signing of the zones that have keys in the store.</summary>
    public Signing.SigningOptions Signing { get; init; } = new();

    /// <summary>
    /// Slots of the reply cache in front of the store (<see cref="ReplyCache"/>, <see cref="ReplyCache.SlotSize"/>
    /// octets each); 0 turns it off (every query reads the store, as the tests of the read counts need).
    /// </summary>
    public int ReplyCacheSize { get; init; }

    /// <summary>How often the store's generation is checked to pick up zones changed by another process.</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromSeconds(1);
}
