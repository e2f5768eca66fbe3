using System.Net;

namespace Ananas.Resolver.Cache;

/// <summary>One upstream server as the infrastructure cache sees it, for metrics and <c>ananas status</c>.</summary>
public sealed record ServerSnapshot(
    IPAddress Address,
    TimeSpan? SmoothedRtt,
    TimeSpan? RttVariance,
    TimeSpan Rto,
    long Responses,
    long Timeouts,
    int ConsecutiveFailures,
    DateTimeOffset? HeldDownUntil,
    EdnsSupport Edns,
    ushort WorkingPayloadSize,
    Capability Tcp,
    Capability Tls,
    Capability CasePreservation,
    DateTimeOffset LastUpdated);
