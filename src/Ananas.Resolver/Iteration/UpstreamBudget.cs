namespace Ananas.Resolver.Iteration;

/// <summary>
/// The upstream exchanges one client query may still cause (<see cref="Limits.MaxUpstreamQueries"/>), shared by its
/// resolution, the NS address look-ups inside it and every DS/DNSKEY fetch of its validation: a hostile hierarchy
/// that makes each sub-resolution expensive cannot multiply the bound (the NXNS and NRDelegation class). Not
/// thread-safe: one per client query, like the query's work.
/// </summary>
internal sealed class UpstreamBudget(int max)
{
    public int Max { get; private set; } = max;

    /// <summary>Exchanges taken so far, by every resolution drawing on this budget.</summary>
    public int Used { get; private set; }

    public bool Exhausted => Used >= Max;

    /// <summary>A full budget again, for the next client query of a reused resolution.</summary>
    public void Reset(int max)
    {
        Max = max;
        Used = 0;
    }

    /// <summary>Takes one exchange; false (and nothing taken) when the budget is spent.</summary>
    public bool TryTake()
    {
        if (Used >= Max) return false;
        Used++;
        return true;
    }
}
