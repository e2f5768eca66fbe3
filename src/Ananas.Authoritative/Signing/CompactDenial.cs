using Ananas.Dns;

namespace Ananas.Authoritative.Signing;

/// <summary>
/// The names and RDATA of the NSEC records an online signer makes up (RFC 9824, and RFC 4470 for the wildcard
/// proof). None of them names a neighbour in the zone, so answers cannot be used to walk it. All methods write
/// lowercase uncompressed wire names into caller buffers and allocate nothing.
/// </summary>
public static class CompactDenial
{
    /// <summary>
    /// The immediate successor of <paramref name="name"/> in canonical order (RFC 4471 §3.1.2): <c>\000.name</c>, or,
    /// when that would be longer than 255 octets, the first label's successor. Returns the length, or -1 when the
    /// first label cannot grow or be incremented (every octet 0xFF, 63 long).
    /// </summary>
    public static int Successor(ReadOnlySpan<byte> name, Span<byte> destination)
    {
        if (name.Length + 2 <= DnsName.MaxWireLength)
        {
            destination[0] = 1;
            destination[1] = 0;
            name.CopyTo(destination[2..]);
            return name.Length + 2;
        }
        return LabelSuccessor(name, destination);
    }

    /// <summary>
    /// The first name after <paramref name="name"/> and all its descendants: its first label with 0x00 appended,
    /// or, for a 63-octet label (or a name at the length limit), the label incremented. -1 when there is none.
    /// </summary>
    public static int LabelSuccessor(ReadOnlySpan<byte> name, Span<byte> destination)
    {
        int length = name[0];
        if (length == 0) return -1;
        if (length < DnsName.MaxLabelLength && name.Length < DnsName.MaxWireLength)
        {
            destination[0] = (byte)(length + 1);
            name.Slice(1, length).CopyTo(destination[1..]);
            destination[length + 1] = 0;
            name[(length + 1)..].CopyTo(destination[(length + 2)..]);
            return name.Length + 1;
        }
        // Drop trailing 0xFF octets and increment the last other one; uppercase octets sort as lowercase, so skip them.
        int last = length;
        while (last > 0 && name[last] == 0xFF) last--;
        if (last == 0) return -1;
        byte b = (byte)(name[last] + 1);
        if (b is >= (byte)'A' and <= (byte)'Z') b = (byte)'Z' + 1;
        destination[0] = (byte)last;
        name.Slice(1, last - 1).CopyTo(destination[1..]);
        destination[last] = b;
        name[(length + 1)..].CopyTo(destination[(last + 1)..]);
        return last + 1 + name.Length - (length + 1);
    }

    /// <summary>
    /// The immediate predecessor of <paramref name="name"/> among names under its parent (RFC 4471 §3.1.2.1, the
    /// absolute method): the first label decremented (or shortened when it ends in 0x00), padded with 0xFF octets,
    /// under as many 0xFF labels as fit in 255 octets. -1 when the first label is the single octet 0x00 (its
    /// predecessor is the parent itself).
    /// </summary>
    public static int Predecessor(ReadOnlySpan<byte> name, Span<byte> destination)
    {
        int length = name[0];
        if (length == 0) return -1;
        var parent = name[(length + 1)..];
        Span<byte> label = stackalloc byte[DnsName.MaxLabelLength];
        name.Slice(1, length).CopyTo(label);
        int labelLength;
        if (label[length - 1] == 0)
        {
            if (length == 1) return -1;
            labelLength = length - 1;
        }
        else
        {
            byte b = (byte)(label[length - 1] - 1);
            if (b is >= (byte)'A' and <= (byte)'Z') b = (byte)'A' - 1;
            label[length - 1] = b;
            labelLength = length;
            // Padding with 0xFF makes the largest label that still sorts before the original.
            int room = DnsName.MaxWireLength - parent.Length - 1;
            while (labelLength < DnsName.MaxLabelLength && labelLength < room) label[labelLength++] = 0xFF;
        }
        // The largest descendant of label.parent: 0xFF labels in front, as long as the name stays within 255 octets.
        int free = DnsName.MaxWireLength - parent.Length - (labelLength + 1);
        int o = 0;
        while (free >= 2)
        {
            int l = Math.Min(DnsName.MaxLabelLength, free - 1);
            destination[o++] = (byte)l;
            destination.Slice(o, l).Fill(0xFF);
            o += l;
            free -= l + 1;
        }
        destination[o++] = (byte)labelLength;
        label[..labelLength].CopyTo(destination[o..]);
        o += labelLength;
        parent.CopyTo(destination[o..]);
        return o + parent.Length;
    }

    /// <summary>Sorts <paramref name="types"/> in place and drops duplicates; returns the count left.</summary>
    public static int SortDistinct(Span<ushort> types)
    {
        types.Sort();
        int kept = 0;
        for (int i = 0; i < types.Length; i++)
        {
            if (kept > 0 && types[kept - 1] == types[i]) continue;
            types[kept++] = types[i];
        }
        return kept;
    }
}
