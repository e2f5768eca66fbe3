namespace Ananas.Resolver.Dnssec;

/// <summary>Base32 with the extended hex alphabet, unpadded (RFC 4648 §7): NSEC3 hashed owner labels (RFC 5155 §3.3).</summary>
public static class Base32Hex
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuv";

    public static string Encode(ReadOnlySpan<byte> bytes)
    {
        var chars = new char[(bytes.Length * 8 + 4) / 5];
        int buffer = 0, bits = 0, n = 0;
        foreach (byte b in bytes)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                chars[n++] = Alphabet[(buffer >> bits) & 31];
            }
        }
        if (bits > 0) chars[n++] = Alphabet[(buffer << (5 - bits)) & 31];
        return new string(chars, 0, n);
    }

    /// <summary>Decodes ASCII base32hex (either case) into <paramref name="destination"/>; false on a bad character or size.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> text, Span<byte> destination, out int written)
    {
        written = 0;
        int buffer = 0, bits = 0;
        foreach (byte c in text)
        {
            int v = c switch
            {
                >= (byte)'0' and <= (byte)'9' => c - '0',
                >= (byte)'A' and <= (byte)'V' => c - 'A' + 10,
                >= (byte)'a' and <= (byte)'v' => c - 'a' + 10,
                _ => -1,
            };
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
}
