using System.Text;

namespace Ananas.Dns.Records;

/// <summary>Encodings shared by several presentation formats: character-strings (RFC 1035 §5.1); base32hex is in <see cref="Base32Hex"/>.</summary>
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
}
