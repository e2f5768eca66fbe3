namespace Ananas.Server.Pipeline;

/// <summary>
/// The named points of a query's life where handlers (native now, Wasm guests later) may look, answer or
/// modify. One enum for everyone.
/// </summary>
public enum Phase : byte
{
    /// <summary>Raw bytes, before parsing.</summary>
    Frame,

    /// <summary>Parsed and admitted (header, question, ACL checked).</summary>
    Request,

    /// <summary>Before the answer cache is consulted.</summary>
    CacheLookup,

    /// <summary>The answer cache had nothing: recursion follows.</summary>
    CacheMiss,

    /// <summary>A message is about to go upstream (reserved: the recursor reports through its trace hook today).</summary>
    Upstream,

    /// <summary>The recursor answered; before the answer is cached.</summary>
    Resolved,

    /// <summary>The encoded reply is about to be sent.</summary>
    Response,
}
