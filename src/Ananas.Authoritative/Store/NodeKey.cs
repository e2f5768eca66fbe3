using System.Buffers.Binary;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Keys of the <c>nodes</c> table (layout version 1, docs/AUTHORITATIVE.md): the zone's id (4 octets, big
/// endian), a kind octet, then for a node the owner name relative to the zone apex, labels from the apex
/// down, each lowercased, escaped (0x00 → 01 01, 0x01 → 01 02) and ended by 0x00. Byte order of these keys is
/// the DNSSEC canonical order of the names (RFC 4034 §6.1), so a cursor lands next to where a missing name
/// would be, and the apex sorts first in its zone.
/// </summary>
public static class NodeKey
{
    public const int PrefixLength = 5;

    /// <summary>Kind octet of a node key (a name with data, or an empty non-terminal).</summary>
    public const byte NodeKind = 0x01;

    /// <summary>Kind octet of the zone's end key: its value describes the gap after the last name.</summary>
    public const byte EndKind = 0x02;

    /// <summary>Longest key: prefix, 127 labels of 63 octets each escaped at worst to 126 octets plus an end octet.</summary>
    public const int MaxLength = PrefixLength + 255 * 2;

    public static void WritePrefix(Span<byte> key, uint zoneId, byte kind)
    {
        BinaryPrimitives.WriteUInt32BigEndian(key, zoneId);
        key[4] = kind;
    }

    public static byte[] End(uint zoneId)
    {
        var key = new byte[PrefixLength];
        WritePrefix(key, zoneId, EndKind);
        return key;
    }

    /// <summary>
    /// Encodes the labels of <paramref name="wire"/> (an uncompressed name) that lie below its last
    /// <paramref name="apexLabels"/> labels, apex side first, into <paramref name="destination"/>. Returns the
    /// length, or -1 if it does not fit. <paramref name="offsets"/> receives the offset in the encoding where
    /// each label below the apex ends (depth 1 ends at offsets[0]).
    /// </summary>
    public static int EncodeRelative(ReadOnlySpan<byte> wire, int apexLabels, Span<byte> destination, Span<int> offsets)
    {
        Span<int> starts = stackalloc int[128];
        int count = 0, p = 0;
        while (wire[p] != 0)
        {
            starts[count++] = p;
            p += wire[p] + 1;
        }
        int below = count - apexLabels;
        int o = 0;
        for (int i = below - 1, depth = 0; i >= 0; i--, depth++)
        {
            int start = starts[i];
            int len = wire[start];
            for (int j = 1; j <= len; j++)
            {
                byte b = wire[start + j];
                if (b is >= (byte)'A' and <= (byte)'Z') b = (byte)(b | 0x20);
                if (b <= 1)
                {
                    if (o + 2 > destination.Length) return -1;
                    destination[o++] = 1;
                    destination[o++] = (byte)(b + 1);
                }
                else
                {
                    if (o + 1 > destination.Length) return -1;
                    destination[o++] = b;
                }
            }
            if (o + 1 > destination.Length) return -1;
            destination[o++] = 0;
            if (depth < offsets.Length) offsets[depth] = o;
        }
        return o;
    }

    /// <summary>The encoded relative name of <paramref name="name"/> (at or below <paramref name="apex"/>).</summary>
    public static byte[] Relative(Ananas.Dns.DnsName name, Ananas.Dns.DnsName apex)
    {
        Span<byte> scratch = stackalloc byte[MaxLength];
        int length = EncodeRelative(name.Wire, apex.LabelCount, scratch, []);
        return scratch[..length].ToArray();
    }

    /// <summary>Labels in an encoded relative name (each ends with the only 0x00 octets in it).</summary>
    public static int Depth(ReadOnlySpan<byte> relative)
    {
        int n = 0;
        foreach (byte b in relative) if (b == 0) n++;
        return n;
    }

    /// <summary>How many leading labels two encoded relative names share.</summary>
    public static int CommonDepth(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        int depth = 0;
        for (int i = 0; i < a.Length && i < b.Length && a[i] == b[i]; i++)
        {
            if (a[i] == 0) depth++;
        }
        return depth;
    }

    /// <summary>Length of the encoding of the first <paramref name="depth"/> labels of <paramref name="relative"/>.</summary>
    public static int PrefixOf(ReadOnlySpan<byte> relative, int depth)
    {
        if (depth == 0) return 0;
        int seen = 0;
        for (int i = 0; i < relative.Length; i++)
        {
            if (relative[i] == 0 && ++seen == depth) return i + 1;
        }
        return relative.Length;
    }

    /// <summary>The wire form (lowercase, uncompressed) of an encoded relative name under <paramref name="apexWire"/>.</summary>
    public static byte[] ToWire(ReadOnlySpan<byte> relative, ReadOnlySpan<byte> apexWire)
    {
        var labels = new List<byte[]>();
        var current = new List<byte>();
        for (int i = 0; i < relative.Length; i++)
        {
            byte b = relative[i];
            if (b == 0)
            {
                labels.Add([.. current]);
                current.Clear();
            }
            else if (b == 1)
            {
                current.Add((byte)(relative[++i] - 1));
            }
            else current.Add(b);
        }
        var wire = new List<byte>();
        for (int i = labels.Count - 1; i >= 0; i--)
        {
            wire.Add((byte)labels[i].Length);
            wire.AddRange(labels[i]);
        }
        wire.AddRange(apexWire);
        return [.. wire];
    }
}
