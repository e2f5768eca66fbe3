using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>
/// The type bit maps field of NSEC and NSEC3 (RFC 4034 §4.1.2): window blocks of up to 32 octets, one bit
/// per type. Keeps the octets it was read from, so that a signed record re-encodes byte-for-byte even if its
/// producer left trailing zero octets.
/// </summary>
public sealed class TypeBitmap
{
    private readonly byte[] _wire;
    private readonly ushort[] _types;

    private TypeBitmap(byte[] wire, ushort[] types)
    {
        _wire = wire;
        _types = types;
    }

    public static readonly TypeBitmap Empty = new([], []);

    /// <summary>The types present, in increasing order.</summary>
    public IReadOnlyList<RRType> Types => Array.ConvertAll(_types, t => (RRType)t);

    public int Count => _types.Length;

    public ReadOnlySpan<byte> Wire => _wire;

    public bool Contains(RRType type) => Array.BinarySearch(_types, (ushort)type) >= 0;

    public static TypeBitmap FromTypes(IEnumerable<RRType> types)
    {
        var sorted = new SortedSet<ushort>();
        foreach (var t in types) sorted.Add((ushort)t);
        var list = new ushort[sorted.Count];
        sorted.CopyTo(list);
        return new TypeBitmap(Encode(list), list);
    }

    private static byte[] Encode(ushort[] types)
    {
        var output = new byte[MaxEncodedLength(types.Length)];
        return output.AsSpan(0, Encode(types, output)).ToArray();
    }

    /// <summary>The most octets <see cref="Encode(ReadOnlySpan{ushort}, Span{byte})"/> writes for <paramref name="count"/> types.</summary>
    public static int MaxEncodedLength(int count) => Math.Min(count, 256) * 34;

    /// <summary>
    /// Writes the window blocks of <paramref name="sortedTypes"/> (ascending, no duplicates) into
    /// <paramref name="destination"/> without allocating; returns the length.
    /// </summary>
    public static int Encode(ReadOnlySpan<ushort> sortedTypes, Span<byte> destination)
    {
        int o = 0, i = 0;
        while (i < sortedTypes.Length)
        {
            int window = sortedTypes[i] >> 8;
            var block = destination.Slice(o + 2, 32);
            block.Clear();
            int length = 0;
            for (; i < sortedTypes.Length && sortedTypes[i] >> 8 == window; i++)
            {
                int low = sortedTypes[i] & 0xFF;
                block[low >> 3] |= (byte)(0x80 >> (low & 7));
                length = (low >> 3) + 1;
            }
            destination[o] = (byte)window;
            destination[o + 1] = (byte)length;
            o += 2 + length;
        }
        return o;
    }

    /// <summary>Reads window blocks up to the end of the reader's scope.</summary>
    public static TypeBitmap ReadFrom(ref WireReader reader)
    {
        var wire = reader.ReadToEnd();
        var types = new List<ushort>();
        int pos = 0, lastWindow = -1;
        while (pos < wire.Length)
        {
            if (wire.Length - pos < 2) throw new DnsFormatException("type bitmap window header truncated");
            int window = wire[pos], length = wire[pos + 1];
            if (window <= lastWindow) throw new DnsFormatException("type bitmap windows out of order or repeated");
            if (length is 0 or > 32) throw new DnsFormatException($"type bitmap window length {length} not in 1..32");
            if (wire.Length - pos - 2 < length) throw new DnsFormatException("type bitmap window runs past the RDATA");
            for (int k = 0; k < length; k++)
            {
                byte b = wire[pos + 2 + k];
                for (int bit = 0; bit < 8; bit++)
                    if ((b & (0x80 >> bit)) != 0) types.Add((ushort)((window << 8) | (k << 3) | bit));
            }
            lastWindow = window;
            pos += 2 + length;
        }
        return new TypeBitmap(wire.ToArray(), [.. types]);
    }

    public void WriteTo(ref WireWriter writer) => writer.WriteBytes(_wire);

    /// <summary>Appends each type as <c> MNEMONIC</c> (with a leading space).</summary>
    public void AppendPresentation(StringBuilder sb)
    {
        foreach (var t in _types) sb.Append(' ').Append(RRTypeText.ToText((RRType)t));
    }

    /// <summary>Reads type mnemonics up to the end of the record.</summary>
    public static TypeBitmap Parse(RDataTextReader reader)
    {
        var types = new List<RRType>();
        while (!reader.AtEnd) types.Add(reader.ReadType());
        return FromTypes(types);
    }
}
