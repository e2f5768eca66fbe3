using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// What every resolution of one <see cref="Recursor"/> shares: its options, what it has learnt (the record cache, the
/// lame and bogus server lists), how it orders servers, its clock and the peer-corpus switches (<see cref="PeerCompatibility"/>). Made once by the recursor; each
/// <see cref="Resolution"/> adds the per-query parts (exchanger, request, cancellation, budget).
/// </summary>
internal sealed record RecursorContext(
    RecursorOptions Options,
    IRecordCache Cache,
    ILameServerList Lame,
    ILameServerList BogusServers,
    IServerSelector Selector,
    IClock Clock,
    PeerCompatibility Peer);
