using System.Buffers.Binary;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Sandbox;

/// <summary>
/// The query data one plugin phase sees: what the host writes into the guest's request region, the query's wire
/// bytes for the hostcalls that need more, and the response guests build or edit. Pooled by the caller and
/// <see cref="Reset"/> per query, so the hot path allocates nothing for it.
/// </summary>
public sealed class PluginCallContext
{
    /// <summary>Transport byte of the region: 0 UDP, 1 TCP, 2 DoT, 3 DoH.</summary>
    public byte Transport { get; set; }

    public ushort MessageId { get; set; }

    /// <summary>The header flags word as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode).</summary>
    public ushort FlagsWord { get; set; }

    public RRType QueryType { get; set; }

    public RRClass QueryClass { get; set; }

    public bool HasEdns { get; set; }

    public bool DnssecOk { get; set; }

    public ushort EdnsPayloadSize { get; set; }

    public IPAddress ClientAddress { get; set; } = IPAddress.Loopback;

    /// <summary>The client's scheduling group: the address masked to <see cref="ClientPrefixLength"/>.</summary>
    public IPAddress ClientNetwork { get; set; } = IPAddress.Loopback;

    public byte ClientPrefixLength { get; set; }

    /// <summary>Arrival time, milliseconds on the host's monotonic clock (truncated to 32 bits in the region).</summary>
    public long ArrivalMilliseconds { get; set; }

    // The QNAME as uncompressed wire bytes, always set; the DnsName is built from them only when asked for (a
    // guest building a response): the region and the qname hostcall read the bytes, so a call allocates nothing.
    private readonly byte[] _queryNameWire = new byte[DnsName.MaxWireLength];
    private int _queryNameLength = 1;
    private DnsName? _queryName = DnsName.Root;

    public DnsName QueryName
    {
        get => _queryName ??= DnsName.FromWire(QueryNameWire);
        set
        {
            value.Wire.CopyTo(_queryNameWire);
            _queryNameLength = value.WireLength;
            _queryName = value;
        }
    }

    /// <summary>The QNAME in uncompressed wire form, in the query's letter case.</summary>
    public ReadOnlySpan<byte> QueryNameWire => _queryNameWire.AsSpan(0, _queryNameLength);

    /// <summary>The query in wire format (request_message, request_edns_option, and the response built from it).</summary>
    public ReadOnlyMemory<byte> QueryWire { get; set; }

    /// <summary>
    /// The current response: the recursor's in phases 5–6; in phases 1–3 the one a guest built when the verdict is
    /// <see cref="PluginVerdict.Answer"/>. Null before there is one.
    /// </summary>
    public DnsMessage? Response { get; set; }

    /// <summary>Phase frame: the HTTP request handed to guests (frame_request, request_message reads its body).</summary>
    public FrameRequest? Frame { get; set; }

    /// <summary>Phase frame: the HTTP reply a guest answered with (frame_reply).</summary>
    public FrameReply? FrameReply { get; set; }

    /// <summary>
    /// When the query must be answered, as a <see cref="System.Diagnostics.Stopwatch"/> timestamp; 0: no deadline. A
    /// callback still awaiting a host operation then is abandoned, so a guest cannot hold the query past it.
    /// </summary>
    public long Deadline { get; set; }

    /// <summary>Runs a DNS query (wire format) through the server's pipeline for resolve_start; null: not offered.</summary>
    public Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]?>>? Resolver { get; set; }

    /// <summary>Spans kept per query (span_start returns -5 beyond): enough for a few plugins' steps, bounded.</summary>
    public const int MaxSpans = 16;

    private readonly GuestSpan[] _spans = new GuestSpan[MaxSpans];
    private int _spanCount;

    /// <summary>The tracing spans guests opened in this call (span_start/span_end), in the order opened.</summary>
    public ReadOnlySpan<GuestSpan> Spans => _spans.AsSpan(0, _spanCount);

    /// <summary>Opens a span; its handle, or -5 when the query already has <see cref="MaxSpans"/>.</summary>
    internal int StartSpan(string plugin, string name, long timestamp)
    {
        if (_spanCount == MaxSpans) return PluginInstance.LimitReached;
        _spans[_spanCount] = new GuestSpan(plugin, name, timestamp, 0);
        return _spanCount++;
    }

    /// <summary>Closes an open span; false for a handle that is not one or a span already closed.</summary>
    internal bool EndSpan(int handle, long timestamp)
    {
        if ((uint)handle >= (uint)_spanCount || _spans[handle].End != 0) return false;
        _spans[handle] = _spans[handle] with { End = timestamp };
        return true;
    }

    /// <summary>Clears everything for the next query (the object is reused).</summary>
    public void Reset()
    {
        Array.Clear(_spans, 0, _spanCount);
        _spanCount = 0;
        Transport = 0;
        MessageId = 0;
        FlagsWord = 0;
        QueryType = 0;
        QueryClass = 0;
        HasEdns = false;
        DnssecOk = false;
        EdnsPayloadSize = 0;
        ClientAddress = IPAddress.Loopback;
        ClientNetwork = IPAddress.Loopback;
        ClientPrefixLength = 0;
        ArrivalMilliseconds = 0;
        QueryName = DnsName.Root;
        QueryWire = default;
        Response = null;
        Frame = null;
        FrameReply = null;
        Resolver = null;
        Deadline = 0;
    }

    /// <summary>
    /// Fills the query fields from a query in wire format (header, question, OPT). Returns false, changing
    /// nothing else, when the bytes are not a well-formed query. Allocates nothing: the name is kept as wire bytes
    /// (see <see cref="QueryName"/>).
    /// </summary>
    public bool TrySetQuery(ReadOnlyMemory<byte> wire)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (!QueryReader.TryRead(wire.Span, name, out var view, out _)) return false;
        QueryWire = wire;
        MessageId = view.Header.Id;
        FlagsWord = view.Header.FlagsWord;
        QueryType = view.Type;
        QueryClass = view.Class;
        HasEdns = view.HasEdns;
        DnssecOk = view.HasEdns && view.DnssecOk;
        EdnsPayloadSize = view.HasEdns ? view.UdpPayloadSize : (ushort)0;
        view.Name.CopyTo(_queryNameWire);
        _queryNameLength = view.Name.Length;
        _queryName = null;
        return true;
    }

    /// <summary>
    /// Fills the query fields from a query whose header, single question and EDNS settings the caller has already
    /// read (the server's first look at a frame): the QNAME is the uncompressed name at offset 12, QTYPE and QCLASS
    /// the four bytes before <paramref name="questionEnd"/>. Parses nothing again, allocates nothing. False, changing
    /// nothing, when the offsets do not describe such a question (the caller then uses <see cref="TrySetQuery"/>).
    /// </summary>
    public bool TrySetCheckedQuery(ReadOnlyMemory<byte> wire, int questionEnd, bool hasEdns, bool dnssecOk, ushort udpPayloadSize)
    {
        var bytes = wire.Span;
        const int nameStart = 12;
        int nameLength = questionEnd - 4 - nameStart;
        if (nameLength < 1 || nameLength > DnsName.MaxWireLength || questionEnd > bytes.Length) return false;
        var name = bytes.Slice(nameStart, nameLength);
        if (name[^1] != 0) return false;
        QueryWire = wire;
        MessageId = BinaryPrimitives.ReadUInt16BigEndian(bytes);
        FlagsWord = BinaryPrimitives.ReadUInt16BigEndian(bytes[2..]);
        QueryType = (RRType)BinaryPrimitives.ReadUInt16BigEndian(bytes[(questionEnd - 4)..]);
        QueryClass = (RRClass)BinaryPrimitives.ReadUInt16BigEndian(bytes[(questionEnd - 2)..]);
        HasEdns = hasEdns;
        DnssecOk = hasEdns && dnssecOk;
        EdnsPayloadSize = hasEdns ? udpPayloadSize : (ushort)0;
        name.CopyTo(_queryNameWire);
        _queryNameLength = nameLength;
        _queryName = null;
        return true;
    }

    /// <summary>Sets the client address and its network (the address masked to the prefix length).</summary>
    public void SetClient(IPAddress address, byte prefixLength)
    {
        ClientAddress = address;
        ClientPrefixLength = prefixLength;
        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out int length);
        bytes = bytes[..length];
        int bits = Math.Min(prefixLength, length * 8);
        for (int i = 0; i < length; i++)
        {
            int keep = Math.Clamp(bits - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF00 >> keep);
        }
        ClientNetwork = new IPAddress(bytes);
    }
}
