using Ananas.Dns;

namespace Ananas.Authoritative.Store;

/// <summary>
/// What a name means for names below it, one octet per ancestor in every node value (layout version 1). The
/// answerer walks these from the apex down to find a zone cut, a DNAME or a wildcard without reading the
/// ancestors themselves.
/// </summary>
[Flags]
public enum NodeFlags : byte
{
    None = 0,

    /// <summary>NS below the apex: a delegation; names under it are glue or occluded.</summary>
    Cut = 1,

    /// <summary>A DNAME: names under it are redirected (RFC 6672).</summary>
    Dname = 2,

    /// <summary>A child <c>*</c> exists: the source of synthesis for missing names under it (RFC 4592).</summary>
    WildcardChild = 4,

    /// <summary>The name owns RRsets (clear for an empty non-terminal).</summary>
    HasData = 8,
}

/// <summary>How a node's own flags follow from its data and its children (layout version 1).</summary>
internal static class NodeRules
{
    public static NodeFlags DataFlags(ReadOnlySpan<byte> relative, OwnerRRsets sets) =>
        DataFlags(relative.IsEmpty, sets.Count > 0, sets.Has(RRType.NS), sets.Has(RRType.DNAME));

    /// <summary>HasData for any RRset, Cut for NS below the apex, Dname for a DNAME.</summary>
    public static NodeFlags DataFlags(bool apex, bool hasData, bool hasNs, bool hasDname)
    {
        var flags = NodeFlags.None;
        if (hasData) flags |= NodeFlags.HasData;
        if (!apex && hasNs) flags |= NodeFlags.Cut;
        if (hasDname) flags |= NodeFlags.Dname;
        return flags;
    }

    /// <summary>The length of the parent's encoding when the last label is <c>*</c> (the parent then has a wildcard child), else -1.</summary>
    public static int WildcardParentLength(ReadOnlySpan<byte> relative)
    {
        int depth = NodeKey.Depth(relative);
        if (depth == 0) return -1;
        int labelStart = NodeKey.PrefixOf(relative, depth - 1);
        return relative.Length - labelStart == 2 && relative[labelStart] == (byte)'*' ? labelStart : -1;
    }

    /// <summary>The encoding of <paramref name="relative"/>'s child <c>*</c>.</summary>
    public static byte[] WildcardChild(ReadOnlySpan<byte> relative)
    {
        var child = new byte[relative.Length + 2];
        relative.CopyTo(child);
        child[^2] = (byte)'*';
        return child;
    }
}
