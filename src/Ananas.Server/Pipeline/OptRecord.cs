using System.Buffers.Binary;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The OPT record (RFC 6891) of an encoded message, edited in place without allocating: our encoder and the answer
/// cache always put it last, so an option is appended by writing it at the end and growing the record's RDLENGTH.
/// </summary>
public static class OptRecord
{
    private const ushort OptType = 41;

    /// <summary>The offset of the OPT record's RDLENGTH when it is the message's last record; -1 otherwise.</summary>
    public static int FindLast(ReadOnlySpan<byte> message)
    {
        if (message.Length < 12) return -1;
        int qd = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int records = BinaryPrimitives.ReadUInt16BigEndian(message[6..]) + BinaryPrimitives.ReadUInt16BigEndian(message[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        if (records == 0) return -1;
        int pos = 12;
        for (int i = 0; i < qd; i++)
        {
            pos = SkipName(message, pos);
            if (pos < 0 || pos + 4 > message.Length) return -1;
            pos += 4;
        }
        int last = -1;
        for (int i = 0; i < records; i++)
        {
            int start = pos;
            pos = SkipName(message, pos);
            if (pos < 0 || pos + 10 > message.Length) return -1;
            last = start;
            pos += 10 + BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 8)..]);
            if (pos > message.Length) return -1;
        }
        if (pos != message.Length || last < 0) return -1;
        // The owner of OPT is the root: one zero octet.
        if (message[last] != 0 || BinaryPrimitives.ReadUInt16BigEndian(message[(last + 1)..]) != OptType) return -1;
        return last + 9;
    }

    /// <summary>Whether the OPT record whose RDLENGTH is at <paramref name="rdLengthAt"/> holds an option <paramref name="code"/>.</summary>
    public static bool HasOption(ReadOnlySpan<byte> message, int rdLengthAt, ushort code)
    {
        int end = rdLengthAt + 2 + BinaryPrimitives.ReadUInt16BigEndian(message[rdLengthAt..]);
        for (int o = rdLengthAt + 2; o + 4 <= end && end <= message.Length;)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(message[o..]) == code) return true;
            o += 4 + BinaryPrimitives.ReadUInt16BigEndian(message[(o + 2)..]);
        }
        return false;
    }

    /// <summary>
    /// Appends option <paramref name="code"/> with <paramref name="data"/> to the last-record OPT of
    /// <c>buffer[..length]</c>, within <paramref name="limit"/>; the new length, or <paramref name="length"/> unchanged
    /// when there is no such OPT or no room.
    /// </summary>
    public static int AppendOption(Span<byte> buffer, int length, int limit, ushort code, ReadOnlySpan<byte> data)
    {
        limit = Math.Min(limit, buffer.Length);
        if (length + 4 + data.Length > limit) return length;
        int rdLengthAt = FindLast(buffer[..length]);
        if (rdLengthAt < 0) return length;
        int rdLength = BinaryPrimitives.ReadUInt16BigEndian(buffer[rdLengthAt..]);
        if (rdLength + 4 + data.Length > ushort.MaxValue) return length;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[length..], code);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(length + 2)..], (ushort)data.Length);
        data.CopyTo(buffer[(length + 4)..]);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[rdLengthAt..], (ushort)(rdLength + 4 + data.Length));
        return length + 4 + data.Length;
    }

    /// <summary>Offset past the name at <paramref name="pos"/> (a compression pointer ends it), or -1.</summary>
    private static int SkipName(ReadOnlySpan<byte> message, int pos)
    {
        while (pos < message.Length)
        {
            int len = message[pos];
            if (len == 0) return pos + 1;
            if ((len & 0xC0) == 0xC0) return pos + 2 <= message.Length ? pos + 2 : -1;
            if (len > 63) return -1;
            pos += len + 1;
        }
        return -1;
    }
}
