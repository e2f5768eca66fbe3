using System.Buffers.Binary;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// What <see cref="QueryReader.TryRead"/> found in a query: the header, the first question (its name
/// decompressed into the caller's buffer) and the OPT record, all as views over the caller's memory.
/// Holds no objects, so reading a query allocates nothing.
/// </summary>
public readonly ref struct QueryView
{
    private readonly ReadOnlySpan<byte> _name;
    private readonly ReadOnlySpan<byte> _options;

    internal QueryView(DnsHeader header, ReadOnlySpan<byte> name, int labelCount, RRType type, RRClass qclass, int questionEnd,
        bool hasEdns, ushort udpPayloadSize, uint optTtl, ReadOnlySpan<byte> options)
    {
        Header = header;
        _name = name;
        LabelCount = labelCount;
        Type = type;
        Class = qclass;
        QuestionEnd = questionEnd;
        HasEdns = hasEdns;
        UdpPayloadSize = udpPayloadSize;
        OptTtl = optTtl;
        _options = options;
    }

    public DnsHeader Header { get; }

    /// <summary>The question name, uncompressed, in the letter case the client sent (a slice of the caller's buffer).</summary>
    public ReadOnlySpan<byte> Name => _name;

    public int LabelCount { get; }

    public RRType Type { get; }

    public RRClass Class { get; }

    /// <summary>Offset just after the first question: a response can copy the header and question from here.</summary>
    public int QuestionEnd { get; }

    /// <summary>
    /// True when the question name is written out at offset 12 rather than pointing back into the header, so
    /// that a response can copy the question's octets (and its letter case) as they are.
    /// </summary>
    public bool QuestionIsLiteral => QuestionEnd - 4 - DnsHeader.Size == _name.Length;

    public bool HasEdns { get; }

    /// <summary>The requestor's UDP payload size (OPT CLASS); meaningful only when <see cref="HasEdns"/>.</summary>
    public ushort UdpPayloadSize { get; }

    /// <summary>The OPT TTL field: extended RCODE, version, DO and the other flags.</summary>
    public uint OptTtl { get; }

    public byte EdnsVersion => (byte)(OptTtl >> 16);

    /// <summary>The DO bit (RFC 3225).</summary>
    public bool DnssecOk => (OptTtl & 0x8000) != 0;

    /// <summary>The OPT RDATA: a sequence of well-formed (code, length, data) options.</summary>
    public ReadOnlySpan<byte> OptionData => _options;

    /// <summary>Enumerates the options without allocating: <c>foreach (var o in view.Options)</c>.</summary>
    public EdnsOptionEnumerator Options => new(_options);

    /// <summary>Finds the first option with <paramref name="code"/> (e.g. the client's COOKIE).</summary>
    public bool TryGetOption(EdnsOptionCode code, out ReadOnlySpan<byte> data)
    {
        foreach (var o in Options)
        {
            if (o.Code == code) { data = o.Data; return true; }
        }
        data = default;
        return false;
    }
}

/// <summary>One option inside an OPT record, as a view.</summary>
public readonly ref struct EdnsOptionView(EdnsOptionCode code, ReadOnlySpan<byte> data)
{
    public EdnsOptionCode Code { get; } = code;

    public ReadOnlySpan<byte> Data { get; } = data;
}

/// <summary>Walks OPT RDATA already checked by <see cref="QueryReader"/>; stops early rather than throw on anything short.</summary>
public ref struct EdnsOptionEnumerator(ReadOnlySpan<byte> options)
{
    private readonly ReadOnlySpan<byte> _options = options;
    private int _next;
    private EdnsOptionView _current;

    public readonly EdnsOptionView Current => _current;

    public readonly EdnsOptionEnumerator GetEnumerator() => this;

    public bool MoveNext()
    {
        if (_options.Length - _next < 4) return false;
        var code = (EdnsOptionCode)BinaryPrimitives.ReadUInt16BigEndian(_options[_next..]);
        int length = BinaryPrimitives.ReadUInt16BigEndian(_options[(_next + 2)..]);
        if (_options.Length - _next - 4 < length) return false;
        _current = new EdnsOptionView(code, _options.Slice(_next + 4, length));
        _next += 4 + length;
        return true;
    }
}
