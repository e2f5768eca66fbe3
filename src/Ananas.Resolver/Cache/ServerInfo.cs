using Ananas.Dns;

namespace Ananas.Resolver.Cache;

/// <summary>
/// Mutable state of one upstream server. Updates lock the object (they are per exchange, not per hit);
/// the values the conductor reads before every exchange (RTO, hold-down, expiry) are single longs read
/// without locking.
/// </summary>
internal sealed class ServerInfo(long nowTicks)
{
    // RFC 6298 state, in ticks; guarded by the lock.
    public bool HasSample;
    public double SmoothedRttTicks;
    public double RttVarianceTicks;

    public long RtoTicks;
    public long HeldDownUntilTicks;
    public long LastUpdatedTicks = nowTicks;

    public long Responses;
    public long Timeouts;
    public int ConsecutiveFailures;

    /// <summary>The last failure was a timeout rather than a network error: what a hold-down reports meanwhile.</summary>
    public bool LastFailureTimedOut;

    public EdnsSupport Edns;
    public ushort WorkingPayloadSize;
    public Capability Tcp;
    public Capability Tls;
    public Capability CasePreservation;
}
