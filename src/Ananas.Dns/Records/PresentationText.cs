using System.Text;

namespace Ananas.Dns.Records;

/// <summary>Encodings shared by several presentation formats: character-strings (RFC 1035 §5.1) and base32hex (RFC 4648 §7).</summary>
internal static class PresentationText
{
    /// <summary>Appends bytes as a quoted character-string: <c>"</c> and <c>\</c> escaped, non-printable octets as <c>\DDD</c>.</summary>
    public static void AppendQuoted(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        sb.Append('"');
        AppendEscaped(sb, bytes);
        sb.Append('"');
    }

    /// <summary>Appends bytes with character-string escapes but without quotes.</summary>
    public static void AppendEscaped(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            if (b < 0x20 || b > 0x7E) sb.Append('\\').Append((char)('0' + b / 100)).Append((char)('0' + b / 10 % 10)).Append((char)('0' + b % 10));
            else if (b is (byte)'"' or (byte)'\\') sb.Append('\\').Append((char)b);
            else sb.Append((char)b);
        }
    }

    /// <summary>
    /// Decodes the escapes of a character-string as written (<c>\X</c> is X, <c>\DDD</c> is the octet DDD).
    /// Characters above ASCII become their UTF-8 octets. Returns false with a reason on a malformed escape.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes, out string error)
    {
        var buffer = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '\\')
            {
                if (++i >= text.Length) { bytes = []; error = "dangling '\\' escape"; return false; }
                char e = text[i];
                if (char.IsAsciiDigit(e))
                {
                    if (i + 2 >= text.Length || !char.IsAsciiDigit(text[i + 1]) || !char.IsAsciiDigit(text[i + 2]))
                    { bytes = []; error = "\\DDD escape needs three digits"; return false; }
                    int v = (e - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
                    if (v > 255) { bytes = []; error = "\\DDD escape above 255"; return false; }
                    buffer.Add((byte)v);
                    i += 2;
                    continue;
                }
                c = e;
            }
            if (c < 0x80) { buffer.Add((byte)c); continue; }
            int n;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                n = Encoding.UTF8.GetBytes(text.Slice(i, 2), utf8);
                i++;
            }
            else n = Encoding.UTF8.GetBytes(text.Slice(i, 1), utf8);
            for (int k = 0; k < n; k++) buffer.Add(utf8[k]);
        }
        bytes = buffer.ToArray();
        error = "";
        return true;
    }

    private const string Base32HexAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUV";

    /// <summary>Base32 with the extended hex alphabet, no padding (the NSEC3 next hashed owner, RFC 5155 §3.3).</summary>
    public static void AppendBase32Hex(StringBuilder sb, ReadOnlySpan<byte> bytes)
    {
        int buffer = 0, bits = 0;
        foreach (byte b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                sb.Append(Base32HexAlphabet[(buffer >> bits) & 31]);
            }
        }
        if (bits > 0) sb.Append(Base32HexAlphabet[(buffer << (5 - bits)) & 31]);
    }

    public static bool TryDecodeBase32Hex(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        text = text.TrimEnd('=');
        var result = new byte[text.Length * 5 / 8];
        int buffer = 0, bits = 0, n = 0;
        foreach (char c in text)
        {
            int v = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'A' and <= 'V' => c - 'A' + 10,
                >= 'a' and <= 'v' => c - 'a' + 10,
                _ => -1,
            };
            if (v < 0) return false;
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                result[n++] = (byte)(buffer >> bits);
            }
        }
        // Leftover bits must be zero padding, or the text was not made by an encoder.
        if (bits >= 5 || (buffer & ((1 << bits) - 1)) != 0) return false;
        bytes = result;
        return true;
    }
}
