using System.Buffers.Binary;

namespace Ananas.Dns.Wire;

/// <summary>
/// A bounds-checked cursor over a whole DNS message. Every read past <see cref="End"/> raises
/// <see cref="DnsFormatException"/>. Names are decompressed against the whole message; a compression
/// pointer must point strictly backwards, which rules out loops and forward references.
/// </summary>
public ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _message;
    private NameCache _names;

    public WireReader(ReadOnlySpan<byte> message)
    {
        _message = message;
        Position = 0;
        End = message.Length;
        _names = default;
    }

    /// <summary>The whole message (compression pointers are offsets into it).</summary>
    public readonly ReadOnlySpan<byte> Message => _message;

    public int Position { get; set; }

    /// <summary>Reads stop here; narrowed while reading one RDATA so that it cannot overrun.</summary>
    public int End { get; set; }

    public readonly int Remaining => End - Position;

    public byte ReadByte()
    {
        if (Position >= End) throw Truncated(1);
        return _message[Position++];
    }

    public ushort ReadUInt16()
    {
        if (End - Position < 2) throw Truncated(2);
        ushort v = BinaryPrimitives.ReadUInt16BigEndian(_message[Position..]);
        Position += 2;
        return v;
    }

    public uint ReadUInt32()
    {
        if (End - Position < 4) throw Truncated(4);
        uint v = BinaryPrimitives.ReadUInt32BigEndian(_message[Position..]);
        Position += 4;
        return v;
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || End - Position < count) throw Truncated(count);
        var s = _message.Slice(Position, count);
        Position += count;
        return s;
    }

    /// <summary>Reads the rest of the current scope (up to <see cref="End"/>).</summary>
    public ReadOnlySpan<byte> ReadToEnd() => ReadBytes(End - Position);

    /// <summary>Reads a one-octet length then that many octets (a DNS character-string).</summary>
    public ReadOnlySpan<byte> ReadCharacterString() => ReadBytes(ReadByte());

    /// <summary>
    /// Reads a possibly compressed name and returns it as a <see cref="DnsName"/>. A name that is only a
    /// pointer to a name already read by this reader reuses that instance: owner names in responses are
    /// almost always <c>C0 0C</c>, so this saves an array, an object and a hash per record.
    /// </summary>
    [System.Runtime.CompilerServices.SkipLocalsInit] // the scratch name is fully written before it is read
    public DnsName ReadName()
    {
        int start = Position;
        int target = -1;
        if (End - start >= 2 && (_message[start] & 0xC0) == 0xC0)
        {
            target = ((_message[start] & 0x3F) << 8) | _message[start + 1];
            // The same rule DecodeName applies: the pointer must go strictly backwards.
            if (target < start && _names.TryGet(target, out var cached))
            {
                Position = start + 2;
                return cached;
            }
        }
        Span<byte> buffer = stackalloc byte[DnsName.MaxWireLength];
        int length = ReadName(buffer, out int labels);
        var name = DnsName.FromValidatedWire(buffer[..length].ToArray(), labels);
        _names.Add(target >= 0 ? target : start, name);
        return name;
    }

    /// <summary>
    /// Decompresses a name into <paramref name="destination"/> (at least 255 bytes) without allocating.
    /// Returns the uncompressed wire length.
    /// </summary>
    public int ReadName(scoped Span<byte> destination, out int labels)
    {
        var error = DecodeName(_message, Position, End, destination, out int next, out int written, out labels);
        if (error != NameError.None) throw new DnsFormatException(Describe(error));
        Position = next;
        return written;
    }

    /// <summary>Like <see cref="ReadName(Span{byte}, out int)"/> but reports malformation as a value (hot paths).</summary>
    public NameError TryReadName(scoped Span<byte> destination, out int length, out int labels)
    {
        var error = DecodeName(_message, Position, End, destination, out int next, out length, out labels);
        if (error == NameError.None) Position = next;
        return error;
    }

    /// <summary>
    /// Most compression pointers one name may follow. A name has at most 127 labels and an encoder needs
    /// at most one pointer per label; without a cap, a chain of backward pointers lets every record of a
    /// 64 KB message cost tens of thousands of jumps (quadratic work).
    /// </summary>
    public const int MaxPointers = 128;

    /// <summary>
    /// Decodes the name at <paramref name="start"/>. Labels before the first pointer must lie below
    /// <paramref name="end"/>; after a jump the whole message is in scope. Each pointer must point strictly
    /// below the previous jump target (and the first below the name's start), so the number of jumps is
    /// bounded by the message size and loops are impossible. <paramref name="next"/> is the position after
    /// the name in the original data (after the first pointer, if any).
    /// </summary>
    public static NameError DecodeName(ReadOnlySpan<byte> message, int start, int end, scoped Span<byte> destination,
        out int next, out int written, out int labels)
    {
        next = start;
        written = 0;
        labels = 0;
        if (destination.Length < DnsName.MaxWireLength) return NameError.BufferTooSmall;
        int pos = start;
        int limit = Math.Min(end, message.Length);
        bool jumped = false;
        int lowestJumpSource = start;
        int jumps = 0;
        while (true)
        {
            if ((uint)pos >= (uint)limit) return NameError.PastEnd;
            int len = message[pos];
            if (len == 0)
            {
                // A label check below keeps written + 1 <= 255 here.
                destination[written++] = 0;
                pos++;
                break;
            }
            switch (len & 0xC0)
            {
                case 0x00:
                    if (pos + 1 + len > limit) return NameError.LabelPastEnd;
                    // Leave room for the root label.
                    if (written + 1 + len + 1 > DnsName.MaxWireLength) return NameError.TooLong;
                    message.Slice(pos, len + 1).CopyTo(destination[written..]);
                    written += len + 1;
                    labels++;
                    pos += len + 1;
                    break;
                case 0xC0:
                    if (pos + 1 >= limit) return NameError.PointerPastEnd;
                    int target = ((len & 0x3F) << 8) | message[pos + 1];
                    if (target >= lowestJumpSource) return NameError.PointerNotBackwards;
                    if (++jumps > MaxPointers) return NameError.TooManyPointers;
                    if (!jumped) { next = pos + 2; jumped = true; limit = message.Length; }
                    lowestJumpSource = target;
                    pos = target;
                    break;
                default:
                    return NameError.BadLabelType;
            }
        }
        if (!jumped) next = pos;
        return NameError.None;
    }

    /// <summary>A message for <see cref="DnsFormatException"/>.</summary>
    public static string Describe(NameError error) => error switch
    {
        NameError.PastEnd => "name runs past the end of the message",
        NameError.LabelPastEnd => "label runs past the end of the message",
        NameError.TooLong => "name longer than 255 octets",
        NameError.PointerPastEnd => "compression pointer runs past the end of the message",
        NameError.PointerNotBackwards => "compression pointer does not point backwards (loop or forward reference)",
        NameError.BadLabelType => "unsupported label type (0x40 or 0x80)",
        NameError.TooManyPointers => "name follows more than 128 compression pointers",
        NameError.BufferTooSmall => "name buffer shorter than 255 octets",
        _ => "malformed name",
    };

    /// <summary>Skips over a possibly compressed name without decoding it.</summary>
    public void SkipName()
    {
        Span<byte> scratch = stackalloc byte[DnsName.MaxWireLength];
        ReadName(scratch, out _);
    }

    private readonly DnsFormatException Truncated(int wanted) =>
        new($"message truncated: needed {wanted} octets at offset {Position}, {Math.Max(0, End - Position)} left");
}
