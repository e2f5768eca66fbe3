namespace Ananas.Server.Pipeline;

/// <summary>
/// The named points of a query's life where handlers (native ones, or WebAssembly plugins through the host's
/// adapter) may look, answer, modify or refuse. The numbers 1–6 are the phase ids of the plugin ABI
/// (docs/plugins.md), so the adapter converts by value; 0 is reserved there for the host.
/// </summary>
public enum Phase : byte
{
    /// <summary>Parsed and admitted (header, question, ACL checked), before the answer cache.</summary>
    Request = 1,

    /// <summary>Just before the answer cache is consulted.</summary>
    CacheLookup = 2,

    /// <summary>The answer cache had nothing: recursion follows.</summary>
    BeforeRecursion = 3,

    /// <summary>
    /// Each upstream sub-request the recursor makes (<see cref="PhaseContext.Upstream"/> is set). Asked by
    /// <see cref="PhaseExchanger"/>, which wraps the exchanger, so the recursor stays unaware of phases.
    /// </summary>
    Upstream = 4,

    /// <summary>The recursor answered; before the answer is cached (<see cref="PhaseContext.Response"/> is set).</summary>
    Resolved = 5,

    /// <summary>The reply is about to be encoded and sent (<see cref="PhaseContext.Response"/> is set).</summary>
    Response = 6,
}
