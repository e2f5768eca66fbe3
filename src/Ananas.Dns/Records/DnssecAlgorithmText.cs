using System.Globalization;

namespace Ananas.Dns.Records;

/// <summary>
/// DNSSEC algorithm mnemonics (IANA "DNS Security Algorithm Numbers"), accepted in presentation input
/// for DS, DNSKEY and RRSIG; output always uses the number.
/// </summary>
public static class DnssecAlgorithmText
{
    private static readonly Dictionary<string, byte> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["RSAMD5"] = 1,
        ["DH"] = 2,
        ["DSA"] = 3,
        ["RSASHA1"] = 5,
        ["DSA-NSEC3-SHA1"] = 6,
        ["RSASHA1-NSEC3-SHA1"] = 7,
        ["RSASHA256"] = 8,
        ["RSASHA512"] = 10,
        ["ECC-GOST"] = 12,
        ["ECDSAP256SHA256"] = 13,
        ["ECDSAP384SHA384"] = 14,
        ["ED25519"] = 15,
        ["ED448"] = 16,
        ["INDIRECT"] = 252,
        ["PRIVATEDNS"] = 253,
        ["PRIVATEOID"] = 254,
    };

    public static bool TryParse(ReadOnlySpan<char> text, out byte algorithm)
    {
        if (byte.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out algorithm)) return true;
        return ByName.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(text, out algorithm);
    }
}
