namespace Ananas.Resolver.Cache;

/// <summary>What is known about one ability of an upstream server.</summary>
public enum Capability : byte
{
    Unknown,
    Works,
    Fails,
}

/// <summary>What is known about an upstream server's EDNS (RFC 6891).</summary>
public enum EdnsSupport : byte
{
    Unknown,

    /// <summary>Answered a query with an OPT record properly.</summary>
    Supported,

    /// <summary>Answered FORMERR (or dropped queries) with EDNS but answered without: ask it without EDNS.</summary>
    NotSupported,
}
