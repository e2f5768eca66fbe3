using System.Buffers.Binary;

namespace Ananas.Server.Pipeline;

/// <summary>
/// RFC 8467 block-length padding applied to an encoded response in place, without allocating: the answer
/// cache hands back the same bytes for every transport, and encrypted transports (DoT, DoH) pad them here.
/// An RFC 7830 Padding option is appended to the OPT record (which must be the last record: our encoder and
/// the answer cache always put it there) so that the message becomes a multiple of <see cref="BlockSize"/>
/// octets. A response without OPT (the query had no EDNS) is left alone, as is one that already has padding.
/// </summary>
public static class ResponsePadding
{
    /// <summary>RFC 8467 §4.1: responses are padded to a multiple of 468 octets.</summary>
    public const int BlockSize = 468;

    private const ushort OptType = 41;
    private const ushort PaddingCode = 12;

    /// <summary>
    /// Pads the message in <c>buffer[..length]</c> (the buffer has room up to <paramref name="limit"/>); returns
    /// the new length (unchanged when it cannot or should not pad).
    /// </summary>
    public static int Apply(Span<byte> buffer, int length, int limit)
    {
        limit = Math.Min(limit, buffer.Length);
        if (length < 12 || length + 4 > limit) return length;
        var message = buffer[..length];
        int qd = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        int records = BinaryPrimitives.ReadUInt16BigEndian(message[6..]) + BinaryPrimitives.ReadUInt16BigEndian(message[8..])
            + BinaryPrimitives.ReadUInt16BigEndian(message[10..]);
        if (records == 0) return length;
        int pos = 12;
        for (int i = 0; i < qd; i++)
        {
            pos = SkipName(message, pos);
            if (pos < 0 || pos + 4 > length) return length;
            pos += 4;
        }
        int last = -1;
        for (int i = 0; i < records; i++)
        {
            int start = pos;
            pos = SkipName(message, pos);
            if (pos < 0 || pos + 10 > length) return length;
            int rdLength = BinaryPrimitives.ReadUInt16BigEndian(message[(pos + 8)..]);
            last = start;
            pos += 10 + rdLength;
            if (pos > length) return length;
        }
        if (pos != length || last < 0) return length;
        // The last record must be OPT (owner is the root: one zero octet).
        if (message[last] != 0 || BinaryPrimitives.ReadUInt16BigEndian(message[(last + 1)..]) != OptType) return length;
        int rdLengthAt = last + 9;
        int optRdLength = BinaryPrimitives.ReadUInt16BigEndian(message[rdLengthAt..]);
        // Already padded: leave it.
        for (int o = rdLengthAt + 2, end = rdLengthAt + 2 + optRdLength; o + 4 <= end;)
        {
            if (BinaryPrimitives.ReadUInt16BigEndian(message[o..]) == PaddingCode) return length;
            o += 4 + BinaryPrimitives.ReadUInt16BigEndian(message[(o + 2)..]);
        }
        int unpadded = length + 4;
        int pad = (BlockSize - unpadded % BlockSize) % BlockSize;
        pad = Math.Min(pad, limit - unpadded);
        if (pad < 0 || optRdLength + 4 + pad > ushort.MaxValue) return length;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[length..], PaddingCode);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(length + 2)..], (ushort)pad);
        buffer.Slice(length + 4, pad).Clear();
        BinaryPrimitives.WriteUInt16BigEndian(buffer[rdLengthAt..], (ushort)(optRdLength + 4 + pad));
        return unpadded + pad;
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
