using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>DNSKEY (RFC 4034 §2) and CDNSKEY (RFC 7344 §3.2, same format) RDATA.</summary>
public sealed class DnskeyData : RData
{
    /// <summary>Zone Key flag (bit 7): the key may verify RRSIGs over zone data.</summary>
    public const ushort ZoneKeyFlag = 0x0100;

    /// <summary>REVOKE flag (bit 8, RFC 5011 §2.1).</summary>
    public const ushort RevokeFlag = 0x0080;

    /// <summary>Secure Entry Point flag (bit 15, RFC 3757): a hint that this is a key-signing key.</summary>
    public const ushort SepFlag = 0x0001;

    public DnskeyData(RRType type, ushort flags, byte protocol, byte algorithm, byte[] publicKey)
    {
        if (type is not (RRType.DNSKEY or RRType.CDNSKEY)) throw new ArgumentException($"{type} is not DNSKEY or CDNSKEY", nameof(type));
        Type = type;
        Flags = flags;
        Protocol = protocol;
        Algorithm = algorithm;
        PublicKey = publicKey;
        KeyTag = ComputeKeyTag();
    }

    public DnskeyData(ushort flags, byte protocol, byte algorithm, byte[] publicKey) : this(RRType.DNSKEY, flags, protocol, algorithm, publicKey) { }

    public override RRType Type { get; }

    public ushort Flags { get; }

    /// <summary>Must be 3 (RFC 4034 §2.1.2); validators ignore keys with another value.</summary>
    public byte Protocol { get; }

    public byte Algorithm { get; }

    public ReadOnlyMemory<byte> PublicKey { get; }

    public bool IsZoneKey => (Flags & ZoneKeyFlag) != 0;

    public bool IsSecureEntryPoint => (Flags & SepFlag) != 0;

    public bool IsRevoked => (Flags & RevokeFlag) != 0;

    /// <summary>The key tag (RFC 4034 Appendix B) that DS and RRSIG records use to name this key.</summary>
    public ushort KeyTag { get; }

    private ushort ComputeKeyTag()
    {
        var key = PublicKey.Span;
        // Algorithm 1 (RSA/MD5) takes the tag from the modulus instead (Appendix B.1): the most significant
        // 16 of the least significant 24 bits, i.e. the third- and second-to-last octets of the key.
        if (Algorithm == 1)
            return key.Length < 3 ? (ushort)0 : (ushort)((key[^3] << 8) | key[^2]);
        uint ac = (uint)Flags + ((uint)Protocol << 8) + Algorithm;
        for (int i = 0; i < key.Length; i++)
            ac += (i & 1) == 0 ? (uint)key[i] << 8 : key[i];
        ac += (ac >> 16) & 0xFFFF;
        return (ushort)(ac & 0xFFFF);
    }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(Flags);
        writer.WriteByte(Protocol);
        writer.WriteByte(Algorithm);
        writer.WriteBytes(PublicKey.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (PublicKey.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(Flags).Append(' ').Append(Protocol).Append(' ').Append(Algorithm).Append(' ')
          .Append(Convert.ToBase64String(PublicKey.Span));
    }

    internal static DnskeyData ReadFrom(RRType type, ref WireReader reader) =>
        new(type, reader.ReadUInt16(), reader.ReadByte(), reader.ReadByte(), reader.ReadToEnd().ToArray());

    internal static DnskeyData Parse(RRType type, RDataTextReader reader) =>
        new(type, reader.ReadUInt16("DNSKEY flags"), reader.ReadUInt8("a DNSKEY protocol"), reader.ReadAlgorithm(),
            reader.ReadBase64Rest("a public key"));
}
