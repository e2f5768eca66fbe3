namespace Ananas.Authoritative.Signing;

/// <summary>
/// How answers of signed zones are signed (the <c>authoritative.signature-*</c> keys of the configuration). Which
/// zones are signed is in the store: a zone with keys (<c>ananas auth keygen</c>).
/// </summary>
public sealed record SigningOptions
{
    /// <summary>Off: zones are served unsigned even when the store holds keys for them (no RRSIG, NSEC or DNSKEY).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>From signing to expiration (before jitter).</summary>
    public TimeSpan Validity { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Inception is set this far in the past, for validators whose clocks are behind ours.</summary>
    public TimeSpan InceptionOffset { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Expiration is brought forward by a random amount up to this, so signatures do not all expire together.</summary>
    public TimeSpan Jitter { get; init; } = TimeSpan.FromHours(6);

    /// <summary>Signatures kept for reuse (entries; each RRset with all its keys' signatures is one).</summary>
    public int CacheSize { get; init; } = 100_000;

    /// <summary>TTL of the DNSKEY RRset made from the store's keys.</summary>
    public uint DnskeyTtl { get; init; } = 3600;

    /// <summary>A cached signature is reused for a quarter of its validity, so what we hand out always has at least half of it left.</summary>
    public TimeSpan Reuse => Validity / 4;

    /// <summary>The clock signatures are dated by (tests move it).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
