namespace Ananas.Resolver.Cache;

/// <summary>
/// What server selection needs to know about one upstream server, read in one go from the
/// <see cref="InfrastructureCache"/>: the smoothed RTT (null when never measured), the current RTO, the
/// failures in a row since the last answer, and whether the server is held down.
/// </summary>
public readonly record struct ServerEstimate(TimeSpan? SmoothedRtt, TimeSpan Rto, int ConsecutiveFailures, bool HeldDown)
{
    /// <summary>True when nothing at all is known about the server.</summary>
    public bool IsUnknown => SmoothedRtt is null && ConsecutiveFailures == 0;
}
