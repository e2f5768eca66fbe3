using System.Globalization;
using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>
/// RRSIG RDATA (RFC 4034 §3). Times are 32-bit seconds since the epoch, compared with serial number
/// arithmetic (RFC 1982) by the validator. The signer name is never compressed and is lowercased in
/// canonical form (RFC 4034 §6.2, RFC 6840 §5.1).
/// </summary>
public sealed class RrsigData(RRType typeCovered, byte algorithm, byte labels, uint originalTtl, uint expiration,
    uint inception, ushort keyTag, DnsName signerName, byte[] signature) : RData
{
    public override RRType Type => RRType.RRSIG;

    public RRType TypeCovered { get; } = typeCovered;

    public byte Algorithm { get; } = algorithm;

    /// <summary>Labels in the original owner name, not counting the root or a leading <c>*</c> (wildcard expansion shows as fewer labels than the owner).</summary>
    public byte Labels { get; } = labels;

    public uint OriginalTtl { get; } = originalTtl;

    public uint Expiration { get; } = expiration;

    public uint Inception { get; } = inception;

    public ushort KeyTag { get; } = keyTag;

    public DnsName SignerName { get; } = signerName;

    public ReadOnlyMemory<byte> Signature { get; } = signature;

    public override void WriteTo(ref WireWriter writer)
    {
        WriteSignedFields(ref writer);
        writer.WriteBytes(Signature.Span);
    }

    /// <summary>
    /// Writes the RDATA without the signature: the RRSIG_RDATA prefix of the signed data (RFC 4034 §3.1.8.1).
    /// In canonical mode the signer name is lowercased.
    /// </summary>
    public void WriteSignedFields(ref WireWriter writer)
    {
        writer.WriteUInt16((ushort)TypeCovered);
        writer.WriteByte(Algorithm);
        writer.WriteByte(Labels);
        writer.WriteUInt32(OriginalTtl);
        writer.WriteUInt32(Expiration);
        writer.WriteUInt32(Inception);
        writer.WriteUInt16(KeyTag);
        writer.WriteName(SignerName, compressible: false, lowercaseInCanonical: true);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (Signature.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(RRTypeText.ToText(TypeCovered)).Append(' ').Append(Algorithm).Append(' ').Append(Labels).Append(' ')
          .Append(OriginalTtl).Append(' ').Append(FormatTime(Expiration)).Append(' ').Append(FormatTime(Inception)).Append(' ')
          .Append(KeyTag).Append(' ');
        SignerName.AppendTo(sb);
        sb.Append(' ').Append(Convert.ToBase64String(Signature.Span));
    }

    /// <summary>The <c>YYYYMMDDHHmmSS</c> UTC form of a signature time (RFC 4034 §3.2).</summary>
    public static string FormatTime(uint seconds) =>
        DateTime.UnixEpoch.AddSeconds(seconds).ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);

    /// <summary>
    /// Parses a signature time: 14 digits are <c>YYYYMMDDHHmmSS</c> UTC (taken modulo 2^32, RFC 4034 §3.1.5),
    /// anything else is a decimal number of seconds.
    /// </summary>
    public static bool TryParseTime(ReadOnlySpan<char> text, out uint seconds)
    {
        seconds = 0;
        if (text.Length == 14)
        {
            foreach (char c in text) if (!char.IsAsciiDigit(c)) return false;
            int year = int.Parse(text[..4], CultureInfo.InvariantCulture), month = int.Parse(text[4..6], CultureInfo.InvariantCulture),
                day = int.Parse(text[6..8], CultureInfo.InvariantCulture), hour = int.Parse(text[8..10], CultureInfo.InvariantCulture),
                minute = int.Parse(text[10..12], CultureInfo.InvariantCulture), second = int.Parse(text[12..14], CultureInfo.InvariantCulture);
            if (year < 1970 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
                return false;
            var t = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc);
            seconds = (uint)((ulong)(t - DateTime.UnixEpoch).TotalSeconds & 0xFFFFFFFF);
            return true;
        }
        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out seconds);
    }

    internal static RrsigData ReadFrom(ref WireReader reader) =>
        new((RRType)reader.ReadUInt16(), reader.ReadByte(), reader.ReadByte(), reader.ReadUInt32(), reader.ReadUInt32(),
            reader.ReadUInt32(), reader.ReadUInt16(), reader.ReadName(), reader.ReadToEnd().ToArray());

    /// <remarks>An absent signature is accepted: test data uses such records to exercise validation failures.</remarks>
    internal static RrsigData Parse(RDataTextReader reader)
    {
        var covered = reader.ReadType("the type covered");
        byte algorithm = reader.ReadAlgorithm();
        byte labels = reader.ReadUInt8("a label count");
        uint ttl = reader.ReadUInt32("an original TTL");
        uint expiration = ReadTime(reader, "a signature expiration (YYYYMMDDHHmmSS or seconds)");
        uint inception = ReadTime(reader, "a signature inception (YYYYMMDDHHmmSS or seconds)");
        ushort keyTag = reader.ReadUInt16("a key tag");
        var signer = reader.ReadName("a signer name");
        return new RrsigData(covered, algorithm, labels, ttl, expiration, inception, keyTag, signer, reader.ReadBase64Rest("a signature", allowEmpty: true));
    }

    private static uint ReadTime(RDataTextReader reader, string what)
    {
        var t = reader.Next(what);
        if (t.Kind == ZoneTokenKind.Word && TryParseTime(t.Text, out uint v)) return v;
        throw reader.Error(what, t);
    }
}
