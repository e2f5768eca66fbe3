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
