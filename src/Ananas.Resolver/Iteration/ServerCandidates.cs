using System.Net;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// The addresses one <see cref="ServerQueries.QueryDelegationAsync"/> call has tried and is about to try, reused from
/// call to call: every resolution asks at least one delegation, and a set and a list for each would be most of what a
/// cold query allocates. One spare per thread; a call rents it (or makes one) and gives it back when it ends, so an
/// instance is never in two places, whichever thread the call's continuation ends on.
/// </summary>
internal sealed class ServerCandidates
{
    // Sets grown beyond this (a delegation with many servers, glueless lookups) are not kept.
    private const int MaxRetained = 64;

    [ThreadStatic] private static ServerCandidates? t_spare;

    /// <summary>Every address added during the call, so that none is asked twice.</summary>
    public HashSet<IPEndPoint> Tried { get; } = [];

    /// <summary>The addresses to ask next, in order.</summary>
    public List<IPEndPoint> Next { get; } = [];

    public static ServerCandidates Rent()
    {
        var spare = t_spare;
        if (spare is null) return new ServerCandidates();
        t_spare = null;
        return spare;
    }

    public void Return()
    {
        if (Tried.Count > MaxRetained || Next.Capacity > MaxRetained) return;
        Tried.Clear();
        Next.Clear();
        t_spare = this;
    }
}
