using System.Text;

namespace Ananas.Dns;

/// <summary>
/// Base32 with the extended hex alphabet, unpadded (RFC 4648 §7): the NSEC3 next hashed owner in presentation
/// form and the hashed owner labels of NSEC3 records (RFC 5155 §3.3).
/// </summary>
public static class Base32Hex
{
    private const string Upper = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
    private const string Lower = "0123456789abcdefghijklmnopqrstuv";

    /// <summary>Appends the encoding (upper case, as zone files print it; lower case for owner labels).</summary>
    public static void Append(StringBuilder sb, ReadOnlySpan<byte> bytes, bool lowercase = false)
    {
        string alphabet = lowercase ? Lower : Upper;
        int buffer = 0, bits = 0;
        foreach (byte b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                sb.Append(alphabet[(buffer >> bits) & 31]);
            }
        }
        if (bits > 0) sb.Append(alphabet[(buffer << (5 - bits)) & 31]);
    }

    public static string Encode(ReadOnlySpan<byte> bytes, bool lowercase = false)
    {
        var sb = new StringBuilder((bytes.Length * 8 + 4) / 5);
        Append(sb, bytes, lowercase);
        return sb.ToString();
    }

    /// <summary>
    /// Decodes presentation text (either case, trailing '=' ignored). Strict: leftover bits must be zero,
    /// as an encoder leaves them.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        text = text.TrimEnd('=');
        var result = new byte[text.Length * 5 / 8];
        int buffer = 0, bits = 0, n = 0;
        foreach (char c in text)
        {
            int v = DigitValue(c);
            if (v < 0) return false;
            buffer = ((buffer << 5) | v) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                result[n++] = (byte)(buffer >> bits);
            }
        }
        if (bits >= 5 || (buffer & ((1 << bits) - 1)) != 0) return false;
        bytes = result;
        return true;
    }

    /// <summary>
    /// Decodes ASCII (an owner label's octets, either case) into <paramref name="destination"/> without allocating;
    /// false on a bad character or when the destination is too small.
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> text, Span<byte> destination, out int written)
    {
        written = 0;
        int buffer = 0, bits = 0;
        foreach (byte c in text)
        {
            int v = DigitValue(c);
            if (v < 0) return false;
            buffer = ((buffer << 5) | v) & 0xFFFF;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                if (written == destination.Length) return false;
                destination[written++] = (byte)(buffer >> bits);
            }
        }
        return true;
    }

    private static int DigitValue(int c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'A' and <= 'V' => c - 'A' + 10,
        >= 'a' and <= 'v' => c - 'a' + 10,
        _ => -1,
    };
}
