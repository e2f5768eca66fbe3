using Ananas.Dns;

namespace Ananas.Resolver;

/// <summary>
/// Switches that exist only to run peer resolvers' test corpora (Unbound's testbound and the deckard scenarios) with
/// those peers' expectations where they differ from this resolver's own choices. Only the scenario runner
/// (src/Ananas.Scenarios) and tests set them, through <see cref="ResolverStack.Create"/> or the <see cref="Recursor"/>
/// constructor; the configuration does not. <see cref="None"/> is the resolver's own behaviour.
/// </summary>
public sealed record PeerCompatibility
{
    /// <summary>The resolver's own behaviour: what `ananas serve` and `ananas resolve` run.</summary>
    public static readonly PeerCompatibility None = new();

    /// <summary>
    /// The QTYPE of minimisation probes. NS (kresd's choice, and what the deckard corpus scripts) finds zone cuts
    /// directly; A (Unbound's choice, recommended by RFC 9156 §3 because NS queries stand out and some servers
    /// mishandle them) hides the query better.
    /// </summary>
    public RRType MinimisationProbeType { get; init; } = RRType.NS;

    /// <summary>
    /// An alias loop (RFC 1034 §3.6.2) is SERVFAIL with the chain up to the loop in the answer section, as kresd sends
    /// it (deckard iter_dname_insec). Off, it has empty sections and only the EDE names the loop, as Unbound sends
    /// every failure (Unbound val_cname_loop1-3).
    /// </summary>
    public bool AliasLoopShowsChain { get; init; } = true;

    /// <summary>
    /// Validate DSA signatures (algorithms 3 and 6). RFC 8624 §3.1 retired them (MUST NOT validate), so by default a
    /// zone signed only with DSA is insecure, as with any unsupported algorithm. On only for test corpora written
    /// before RFC 8624 (the Unbound and deckard validator scenarios are signed with DSA).
    /// </summary>
    public bool ValidateDsa { get; init; }
}
