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

    public WireReader(ReadOnlySpan<byte> message)
    {
        _message = message;
        Position = 0;
        End = message.Length;
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

    /// <summary>Reads a possibly compressed name and returns it as a <see cref="DnsName"/>.</summary>
    public DnsName ReadName()
    {
        Span<byte> buffer = stackalloc byte[DnsName.MaxWireLength];
        int length = ReadName(buffer, out int labels);
        return DnsName.FromValidatedWire(buffer[..length].ToArray(), labels);
    }

    /// <summary>
    /// Decompresses a name into <paramref name="destination"/> (at least 255 bytes) without allocating.
    /// Returns the uncompressed wire length.
    /// </summary>
    public int ReadName(scoped Span<byte> destination, out int labels)
    {
        int pos = Position;
        int written = 0;
        labels = 0;
        bool jumped = false;
        // Each pointer must go strictly backwards, so the number of jumps is bounded by the message size.
        int lowestJumpSource = pos;
        while (true)
        {
            if (pos >= (jumped ? _message.Length : End)) throw new DnsFormatException("name runs past the end of the message");
            int len = _message[pos];
            if (len == 0)
            {
                pos++;
                if (written + 1 > DnsName.MaxWireLength) throw new DnsFormatException("name longer than 255 octets");
                destination[written++] = 0;
                break;
            }
            switch (len & 0xC0)
            {
                case 0x00:
                    if (pos + 1 + len > (jumped ? _message.Length : End)) throw new DnsFormatException("label runs past the end of the message");
                    if (written + 1 + len + 1 > DnsName.MaxWireLength) throw new DnsFormatException("name longer than 255 octets");
                    _message.Slice(pos, len + 1).CopyTo(destination[written..]);
                    written += len + 1;
                    labels++;
                    pos += len + 1;
                    break;
                case 0xC0:
                    if (pos + 1 >= (jumped ? _message.Length : End)) throw new DnsFormatException("compression pointer runs past the end of the message");
                    int target = ((len & 0x3F) << 8) | _message[pos + 1];
                    if (target >= lowestJumpSource) throw new DnsFormatException("compression pointer does not point backwards (loop or forward reference)");
                    if (!jumped) { Position = pos + 2; jumped = true; }
                    lowestJumpSource = target;
                    pos = target;
                    break;
                default:
                    throw new DnsFormatException($"unsupported label type 0x{len & 0xC0:x2}");
            }
        }
        if (!jumped) Position = pos;
        return written;
    }

    /// <summary>Skips over a possibly compressed name without decoding it.</summary>
    public void SkipName()
    {
        Span<byte> scratch = stackalloc byte[DnsName.MaxWireLength];
        ReadName(scratch, out _);
    }

    private readonly DnsFormatException Truncated(int wanted) =>
        new($"message truncated: needed {wanted} octets at offset {Position}, {Math.Max(0, End - Position)} left");
}
