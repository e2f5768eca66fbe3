namespace Ananas.Dns.Records;

/// <summary>SvcParamKey values (RFC 9460 §14.3.2 and the IANA registry).</summary>
public enum SvcParamKey : ushort
{
    Mandatory = 0,
    Alpn = 1,
    NoDefaultAlpn = 2,
    Port = 3,
    Ipv4Hint = 4,
    Ech = 5,
    Ipv6Hint = 6,

    /// <summary>RFC 9461: the DoH URI template path.</summary>
    DohPath = 7,

    /// <summary>RFC 9540: the service supports Oblivious HTTP.</summary>
    Ohttp = 8,

    /// <summary>Reserved ("Invalid key", RFC 9460 §14.3.2); never valid in a record.</summary>
    InvalidKey = 65535,
}

/// <summary>One SvcParam of an SVCB or HTTPS record: a key and its value in wire form.</summary>
public sealed class SvcParam(SvcParamKey key, byte[] value)
{
    public SvcParamKey Key { get; } = key;

    public ReadOnlyMemory<byte> Value { get; } = value;
}
