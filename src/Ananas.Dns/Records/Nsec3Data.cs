using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>NSEC3 RDATA (RFC 5155 §3): hashed authenticated denial of existence.</summary>
public sealed class Nsec3Data : RData
{
    /// <summary>The Opt-Out flag (RFC 5155 §3.1.2.1): the span may cover unsigned delegations.</summary>
    public const byte OptOutFlag = 0x01;

    public Nsec3Data(byte hashAlgorithm, byte flags, ushort iterations, byte[] salt, byte[] nextHashedOwnerName, TypeBitmap types)
    {
        if (salt.Length > 255) throw new DnsFormatException("NSEC3 salt longer than 255 octets");
        if (nextHashedOwnerName.Length is 0 or > 255) throw new DnsFormatException("NSEC3 next hashed owner name must be 1 to 255 octets");
        HashAlgorithm = hashAlgorithm;
        Flags = flags;
        Iterations = iterations;
        Salt = salt;
        NextHashedOwnerName = nextHashedOwnerName;
        Types = types;
    }

    public override RRType Type => RRType.NSEC3;

    /// <summary>1 is SHA-1, the only one defined.</summary>
    public byte HashAlgorithm { get; }

    public byte Flags { get; }

    public bool OptOut => (Flags & OptOutFlag) != 0;

    public ushort Iterations { get; }

    public ReadOnlyMemory<byte> Salt { get; }

    /// <summary>The raw hash; its base32hex text is the first label of the next NSEC3 owner.</summary>
    public ReadOnlyMemory<byte> NextHashedOwnerName { get; }

    public TypeBitmap Types { get; }

    public bool Contains(RRType type) => Types.Contains(type);

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteByte(HashAlgorithm);
        writer.WriteByte(Flags);
        writer.WriteUInt16(Iterations);
        writer.WriteCharacterString(Salt.Span);
        writer.WriteCharacterString(NextHashedOwnerName.Span);
        Types.WriteTo(ref writer);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(HashAlgorithm).Append(' ').Append(Flags).Append(' ').Append(Iterations).Append(' ');
        Nsec3ParamData.AppendSalt(sb, Salt.Span);
        sb.Append(' ');
        Base32Hex.Append(sb, NextHashedOwnerName.Span);
        Types.AppendPresentation(sb);
    }

    internal static Nsec3Data ReadFrom(ref WireReader reader)
    {
        byte alg = reader.ReadByte(), flags = reader.ReadByte();
        ushort iterations = reader.ReadUInt16();
        var salt = reader.ReadCharacterString().ToArray();
        var next = reader.ReadCharacterString().ToArray();
        return new Nsec3Data(alg, flags, iterations, salt, next, TypeBitmap.ReadFrom(ref reader));
    }

    internal static Nsec3Data Parse(RDataTextReader reader)
    {
        byte alg = reader.ReadUInt8("a hash algorithm");
        byte flags = reader.ReadUInt8("NSEC3 flags");
        ushort iterations = reader.ReadUInt16("an iteration count");
        var salt = Nsec3ParamData.ReadSalt(reader);
        var t = reader.Next("a next hashed owner name in base32hex");
        if (t.Kind != ZoneTokenKind.Word || !Base32Hex.TryDecode(t.Text, out var next) || next.Length == 0 || next.Length > 255)
            throw reader.Error("a next hashed owner name in base32hex", t);
        return new Nsec3Data(alg, flags, iterations, salt, next, TypeBitmap.Parse(reader));
    }
}
