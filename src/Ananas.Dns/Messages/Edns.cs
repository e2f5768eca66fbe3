namespace Ananas.Dns.Messages;

/// <summary>
/// The EDNS(0) pseudo-record (RFC 6891): requestor's UDP payload size, version, DO bit and options.
/// The extended RCODE bits are folded into <see cref="DnsMessage.Rcode"/> when reading and writing.
/// </summary>
public sealed class Edns
{
    /// <summary>The payload size we advertise by default (DNS Flag Day 2020).</summary>
    public const ushort DefaultPayloadSize = 1232;

    public ushort UdpPayloadSize { get; set; } = DefaultPayloadSize;

    public byte Version { get; set; }

    /// <summary>The DO bit (RFC 3225): the requestor understands DNSSEC records.</summary>
    public bool DnssecOk { get; set; }

    /// <summary>EDNS header flag bits other than DO (must be zero on send, ignored on receipt).</summary>
    public ushort OtherFlags { get; set; }

    // Created when first asked for: most messages carry no option. Atomic, like DnsMessage's sections.
    private List<EdnsOption>? _options;

    public List<EdnsOption> Options => _options ?? DnsMessage.Create(ref _options);

    /// <summary>The options, or null when none was ever added (reads without creating the list).</summary>
    internal List<EdnsOption>? OptionsIfAny => _options;

    /// <summary>Returns the first option of a type, or null.</summary>
    public T? Find<T>() where T : EdnsOption
    {
        if (_options is null) return null;
        foreach (var o in _options) if (o is T t) return t;
        return null;
    }
}
