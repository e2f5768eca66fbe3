using System.Buffers.Binary;

namespace Ananas.Dns.Messages;

/// <summary>
/// The fixed 12-octet header, read without allocating. Used by hot paths (cache lookups, listeners)
/// that must not build a whole <see cref="DnsMessage"/>.
/// </summary>
public readonly record struct DnsHeader(ushort Id, ushort FlagsWord, ushort QuestionCount, ushort AnswerCount, ushort AuthorityCount, ushort AdditionalCount)
{
    public const int Size = 12;

    public HeaderFlags Flags => (HeaderFlags)(FlagsWord & 0x87F0);

    public Opcode Opcode => (Opcode)((FlagsWord >> 11) & 0xF);

    /// <summary>The low 4 bits of the RCODE (the rest, if any, is in the OPT record).</summary>
    public byte RcodeLow => (byte)(FlagsWord & 0xF);

    public bool Has(HeaderFlags flag) => (FlagsWord & (ushort)flag) == (ushort)flag;

    public static DnsHeader Read(ReadOnlySpan<byte> message)
    {
        if (message.Length < Size) throw new DnsFormatException($"message of {message.Length} octets is shorter than a header");
        return new DnsHeader(
            BinaryPrimitives.ReadUInt16BigEndian(message),
            BinaryPrimitives.ReadUInt16BigEndian(message[2..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[4..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[6..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[8..]),
            BinaryPrimitives.ReadUInt16BigEndian(message[10..]));
    }

    public static bool TryRead(ReadOnlySpan<byte> message, out DnsHeader header)
    {
        if (message.Length < Size) { header = default; return false; }
        header = Read(message);
        return true;
    }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt16BigEndian(destination, Id);
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], FlagsWord);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], QuestionCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[6..], AnswerCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[8..], AuthorityCount);
        BinaryPrimitives.WriteUInt16BigEndian(destination[10..], AdditionalCount);
    }
}
