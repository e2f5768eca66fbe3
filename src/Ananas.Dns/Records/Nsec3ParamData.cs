using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>NSEC3PARAM RDATA (RFC 5155 §4): the parameters an authoritative server uses to hash names.</summary>
public sealed class Nsec3ParamData : RData
{
    public Nsec3ParamData(byte hashAlgorithm, byte flags, ushort iterations, byte[] salt)
    {
        if (salt.Length > 255) throw new DnsFormatException("NSEC3PARAM salt longer than 255 octets");
        HashAlgorithm = hashAlgorithm;
        Flags = flags;
        Iterations = iterations;
        Salt = salt;
    }

    public override RRType Type => RRType.NSEC3PARAM;

    public byte HashAlgorithm { get; }

    public byte Flags { get; }

    public ushort Iterations { get; }

    public ReadOnlyMemory<byte> Salt { get; }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteByte(HashAlgorithm);
        writer.WriteByte(Flags);
        writer.WriteUInt16(Iterations);
        writer.WriteCharacterString(Salt.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(HashAlgorithm).Append(' ').Append(Flags).Append(' ').Append(Iterations).Append(' ');
        AppendSalt(sb, Salt.Span);
    }

    /// <summary>Hex, or <c>-</c> for no salt (RFC 5155 §3.3).</summary>
    internal static void AppendSalt(StringBuilder sb, ReadOnlySpan<byte> salt)
    {
        if (salt.IsEmpty) sb.Append('-');
        else sb.Append(Convert.ToHexString(salt));
    }

    internal static byte[] ReadSalt(RDataTextReader reader)
    {
        var t = reader.Next("a salt in hex or '-'");
        if (t.Kind == ZoneTokenKind.Word && t.Text == "-") return [];
        if (t.Kind != ZoneTokenKind.Word) throw reader.Error("a salt in hex or '-'", t);
        var salt = reader.ParseHex(t.Text, t, "a salt");
        if (salt.Length > 255) throw reader.Error("a salt of at most 255 octets", t);
        return salt;
    }

    internal static Nsec3ParamData ReadFrom(ref WireReader reader)
    {
        byte alg = reader.ReadByte(), flags = reader.ReadByte();
        ushort iterations = reader.ReadUInt16();
        return new Nsec3ParamData(alg, flags, iterations, reader.ReadCharacterString().ToArray());
    }

    internal static Nsec3ParamData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt8("a hash algorithm"), reader.ReadUInt8("NSEC3PARAM flags"), reader.ReadUInt16("an iteration count"),
            ReadSalt(reader));
}
