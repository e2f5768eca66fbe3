using Ananas.Dns;

namespace Ananas.Authoritative.Signing;

/// <summary>
/// A signed zone's keys as the answerer uses them: the keys, the DNSKEY RRset made from them (RDATA in wire form)
/// and a number naming this key set in signature cache keys, so that a changed key set never reuses old
/// signatures. Built with the zone index whenever the store's generation moves.
/// </summary>
public sealed class ZoneKeySet
{
    public ZoneKeySet(DnsName apex, IReadOnlyList<SigningKey> keys)
    {
        if (keys.Count == 0) throw new ArgumentException("a signed zone has at least one key", nameof(keys));
        ApexLower = apex.ToLowerCase().Wire.ToArray();
        Keys = keys;
        var dnskeys = new byte[keys.Count][];
        var hash = new HashCode();
        for (int i = 0; i < keys.Count; i++)
        {
            dnskeys[i] = keys[i].Dnskey.ToWire();
            hash.AddBytes(dnskeys[i]);
        }
        DnskeyRdata = dnskeys;
        Id = (uint)hash.ToHashCode();
    }

    /// <summary>The signer name of every RRSIG: the apex, lowercase (RFC 6840 §5.1).</summary>
    public byte[] ApexLower { get; }

    public IReadOnlyList<SigningKey> Keys { get; }

    /// <summary>The DNSKEY RRset answered at the apex, one RDATA per key.</summary>
    public byte[][] DnskeyRdata { get; }

    /// <summary>Names this key set in cache keys (a hash of its DNSKEY RDATA).</summary>
    public uint Id { get; }
}
