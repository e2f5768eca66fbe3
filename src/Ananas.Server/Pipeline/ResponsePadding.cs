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
        int rdLengthAt = OptRecord.FindLast(message);
        // No OPT last, or already padded: leave it.
        if (rdLengthAt < 0 || OptRecord.HasOption(message, rdLengthAt, PaddingCode)) return length;
        int optRdLength = BinaryPrimitives.ReadUInt16BigEndian(message[rdLengthAt..]);
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
}
