using System.Globalization;
using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>
/// A cursor over the RDATA tokens of one record in presentation format. Every failure becomes a
/// <see cref="ZoneFileException"/> pointing at the offending token ("expected X, found 'Y'").
/// </summary>
public sealed class RDataTextReader
{
    private readonly IReadOnlyList<ZoneToken> _tokens;
    private readonly ZoneToken _end;
    private int _index;

    /// <param name="end">The token that ended the record (its position is used for "found end of line").</param>
    /// <param name="origin">Completes relative names; null when no origin is known (relative names are then errors).</param>
    public RDataTextReader(IReadOnlyList<ZoneToken> tokens, int start, ZoneToken end, string file, DnsName? origin)
    {
        _tokens = tokens;
        _index = start;
        _end = end;
        File = file;
        Origin = origin;
    }

    public string File { get; }

    public DnsName? Origin { get; }

    /// <summary>
    /// When set, <c>\#</c> RDATA of a known type that does not decode as that type is kept as opaque octets
    /// instead of being rejected (test data that serves deliberately malformed records needs this).
    /// </summary>
    public bool KeepMalformedGeneric { get; init; }

    public bool AtEnd => _index >= _tokens.Count;

    /// <summary>The next token, or the end-of-record token.</summary>
    public ZoneToken Peek() => AtEnd ? _end : _tokens[_index];

    /// <summary>The next token; an error naming <paramref name="expected"/> at the end of the record.</summary>
    public ZoneToken Next(string expected)
    {
        if (AtEnd) throw Error(expected, _end);
        return _tokens[_index++];
    }

    public ZoneFileException Error(string expected, ZoneToken found) =>
        new(File, found.Line, found.Column, $"expected {expected}, found {found.Describe()}");

    public ZoneFileException Error(string expected, ZoneToken found, string why) =>
        new(File, found.Line, found.Column, $"expected {expected}, found {found.Describe()} ({why})");

    public DnsName ReadName(string what = "a domain name")
    {
        var t = Next(what);
        return ParseName(t, Origin, File, what);
    }

    /// <summary>Parses a name token; <c>@</c> is the origin and names without a trailing dot are relative to it.</summary>
    public static DnsName ParseName(ZoneToken t, DnsName? origin, string file, string what = "a domain name")
    {
        if (t.Kind != ZoneTokenKind.Word) throw new ZoneFileException(file, t.Line, t.Column, $"expected {what}, found {t.Describe()}");
        if (t.Text == "@")
        {
            return origin ?? throw new ZoneFileException(file, t.Line, t.Column, $"expected {what}, found '@' with no origin known (use $ORIGIN)");
        }
        if (origin is null && !IsAbsolute(t.Text))
            throw new ZoneFileException(file, t.Line, t.Column, $"expected {what}, found relative name '{t.Text}' with no origin known (use $ORIGIN)");
        if (!DnsName.TryParse(t.Text, origin, out var name, out var error))
            throw new ZoneFileException(file, t.Line, t.Column, $"expected {what}, found '{t.Text}' ({error})");
        return name;
    }

    /// <summary>True when the name text ends in an unescaped dot.</summary>
    public static bool IsAbsolute(string text)
    {
        if (text.Length == 0 || text[^1] != '.') return false;
        int backslashes = 0;
        for (int i = text.Length - 2; i >= 0 && text[i] == '\\'; i--) backslashes++;
        return backslashes % 2 == 0;
    }

    public byte ReadUInt8(string what)
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && byte.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out byte v)) return v;
        throw Error(what + " (0-255)", t);
    }

    public ushort ReadUInt16(string what)
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && ushort.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort v)) return v;
        throw Error(what + " (0-65535)", t);
    }

    public uint ReadUInt32(string what)
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && uint.TryParse(t.Text, NumberStyles.None, CultureInfo.InvariantCulture, out uint v)) return v;
        throw Error(what + " (0-4294967295)", t);
    }

    /// <summary>A TTL: seconds, or units as in <c>1h30m</c> (s, m, h, d, w).</summary>
    public uint ReadTtl(string what)
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && TryParseTtl(t.Text, out uint v)) return v;
        throw Error(what, t);
    }

    public static bool TryParseTtl(ReadOnlySpan<char> text, out uint ttl)
    {
        ttl = 0;
        if (text.IsEmpty || !char.IsAsciiDigit(text[0])) return false;
        ulong total = 0, current = 0;
        bool pendingDigits = false, sawUnit = false;
        foreach (char c in text)
        {
            if (char.IsAsciiDigit(c))
            {
                current = current * 10 + (ulong)(c - '0');
                if (current > uint.MaxValue) return false;
                pendingDigits = true;
                continue;
            }
            if (!pendingDigits) return false;
            ulong unit = char.ToLowerInvariant(c) switch
            {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 604800,
                _ => 0,
            };
            if (unit == 0) return false;
            total += current * unit;
            if (total > uint.MaxValue) return false;
            current = 0;
            pendingDigits = false;
            sawUnit = true;
        }
        if (pendingDigits)
        {
            // A bare number after units ("1h30") counts as seconds, as BIND does.
            total += current;
            if (total > uint.MaxValue) return false;
        }
        else if (!sawUnit) return false;
        ttl = (uint)total;
        return true;
    }

    /// <summary>A character-string (quoted or not), at most 255 octets after unescaping.</summary>
    public byte[] ReadCharacterString(string what)
    {
        var t = Next(what);
        var bytes = Decode(t, what);
        if (bytes.Length > 255) throw Error(what, t, $"{bytes.Length} octets, at most 255 allowed");
        return bytes;
    }

    /// <summary>Unescapes a token as a character-string (no length limit).</summary>
    public byte[] Decode(ZoneToken t, string what)
    {
        if (!PresentationText.TryDecode(t.Text, out var bytes, out var error)) throw Error(what, t, error);
        return bytes;
    }

    /// <summary>Base64 spread over the remaining tokens (zone files split long keys and signatures).</summary>
    public byte[] ReadBase64Rest(string what, bool allowEmpty = false)
    {
        var first = Peek();
        if (AtEnd && allowEmpty) return [];
        string text = JoinRest(what);
        if (TryDecodeBase64(text, out var bytes)) return bytes;
        throw Error(what + " in base64", first);
    }

    /// <summary>
    /// Base64, forgiving about padding: <c>=</c> signs are dropped and re-added as needed (as ldns and
    /// Unbound do), so that "UNUSABLE==" style placeholders in test data still read.
    /// </summary>
    public static bool TryDecodeBase64(string text, out byte[] bytes)
    {
        string body = text.TrimEnd('=');
        bytes = [];
        if (body.Length % 4 == 1 || body.Contains('=')) return false;
        string padded = body.Length % 4 == 0 ? body : body + new string('=', 4 - body.Length % 4);
        var buffer = new byte[padded.Length / 4 * 3];
        if (!Convert.TryFromBase64String(padded, buffer, out int written)) return false;
        bytes = buffer[..written];
        return true;
    }

    /// <summary>Hex spread over the remaining tokens. <paramref name="allowEmpty"/> accepts no tokens at all.</summary>
    public byte[] ReadHexRest(string what, bool allowEmpty = false)
    {
        var first = Peek();
        if (AtEnd && allowEmpty) return [];
        string text = JoinRest(what);
        return ParseHex(text, first, what);
    }

    public byte[] ParseHex(string text, ZoneToken at, string what)
    {
        if (text.Length % 2 != 0) throw Error(what + " in hex (an even number of digits)", at);
        try
        {
            return Convert.FromHexString(text);
        }
        catch (FormatException)
        {
            throw Error(what + " in hex", at);
        }
    }

    private string JoinRest(string what)
    {
        if (AtEnd) throw Error(what, _end);
        var sb = new System.Text.StringBuilder();
        while (!AtEnd)
        {
            var t = _tokens[_index++];
            if (t.Kind != ZoneTokenKind.Word) throw Error(what, t);
            sb.Append(t.Text);
        }
        return sb.ToString();
    }

    public RRType ReadType(string what = "a record type")
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && RRTypeText.TryParse(t.Text, out var type)) return type;
        throw Error(what, t);
    }

    /// <summary>A DNSSEC algorithm number or mnemonic (RFC 4034 Appendix A.1).</summary>
    public byte ReadAlgorithm(string what = "a DNSSEC algorithm")
    {
        var t = Next(what);
        if (t.Kind == ZoneTokenKind.Word && DnssecAlgorithmText.TryParse(t.Text, out byte v)) return v;
        throw Error(what, t);
    }

    /// <summary>Fails when tokens remain after the RDATA.</summary>
    public void ExpectEnd()
    {
        if (!AtEnd) throw Error("end of record", _tokens[_index]);
    }
}
