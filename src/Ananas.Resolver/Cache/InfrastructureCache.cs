using System.Collections.Concurrent;
using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Cache;

/// <summary>
/// What the resolver has learnt about each upstream server (Unbound's infra cache): smoothed RTT and
/// variance with an RTO per RFC 6298, timeouts with exponential backoff and a hold-down for servers that
/// keep failing, EDNS, TCP, TLS and 0x20 capability (lameness is <see cref="Infrastructure.LameServerList"/>). Entries not updated for
/// <see cref="InfrastructureCacheOptions.EntryLifetime"/> are forgotten, so a server that failed gets
/// another chance. Thread-safe; reads of RTO and hold-down take no lock.
/// </summary>
public sealed class InfrastructureCache(InfrastructureCacheOptions options, IClock clock)
{
    // RFC 6298 §2: α = 1/8, β = 1/4, K = 4, clock granularity G (1 ms here).
    private const double Alpha = 1.0 / 8;
    private const double Beta = 1.0 / 4;
    private const int K = 4;
    private static readonly long GranularityTicks = TimeSpan.TicksPerMillisecond;

    private readonly ConcurrentDictionary<IPAddress, ServerInfo> _servers = new();

    public InfrastructureCacheOptions Options { get; } = options;

    public int Count => _servers.Count;

    /// <summary>Feeds one round-trip time measured on an unambiguous exchange (Karn: not on a retransmitted query).</summary>
    public void RecordRtt(IPAddress address, TimeSpan rtt)
    {
        long now = Now;
        var info = GetOrAdd(address, now);
        lock (info)
        {
            double r = Math.Max(rtt.Ticks, 0);
            if (!info.HasSample)
            {
                // §2.2: the first measurement.
                info.SmoothedRttTicks = r;
                info.RttVarianceTicks = r / 2;
                info.HasSample = true;
            }
            else
            {
                // §2.3: RTTVAR first, with the old SRTT.
                info.RttVarianceTicks = (1 - Beta) * info.RttVarianceTicks + Beta * Math.Abs(info.SmoothedRttTicks - r);
                info.SmoothedRttTicks = (1 - Alpha) * info.SmoothedRttTicks + Alpha * r;
            }
            // A measurement ends any backoff (§5.7) and any run of failures.
            Volatile.Write(ref info.RtoTicks, ClampRto((long)(info.SmoothedRttTicks + Math.Max(GranularityTicks, K * info.RttVarianceTicks))));
            info.Responses++;
            info.ConsecutiveFailures = 0;
            Volatile.Write(ref info.HeldDownUntilTicks, 0);
            Volatile.Write(ref info.LastUpdatedTicks, now);
        }
    }

    /// <summary>
    /// A query went unanswered: double the RTO (RFC 6298 §5.5) and count towards a hold-down. <paramref name="sentWithRto"/>
    /// is the RTO the query waited for (null: the current one). A query sent with a shorter RTO than the current one
    /// was already in flight when an earlier timeout backed off: the same loss, so it moves neither the RTO nor the
    /// run of failures (as Unbound's rtt_lost). Otherwise one stall with many queries outstanding would double the RTO
    /// once per query and hold the server off for the longest hold-down at once.
    /// </summary>
    public void RecordTimeout(IPAddress address, TimeSpan? sentWithRto = null)
    {
        long now = Now;
        var info = GetOrAdd(address, now);
        lock (info)
        {
            info.Timeouts++;
            long rto = info.RtoTicks == 0 ? ClampRto(Options.InitialRto.Ticks) : info.RtoTicks;
            if (sentWithRto is { } sent && sent.Ticks < rto)
            {
                Volatile.Write(ref info.LastUpdatedTicks, now);
                return;
            }
            Volatile.Write(ref info.RtoTicks, ClampRto(rto * 2));
            info.LastFailureTimedOut = true;
            RecordFailure(info, now);
        }
    }

    /// <summary>The server could not be reached at all (refused, unreachable): counts towards a hold-down, RTO unchanged.</summary>
    public void RecordNetworkError(IPAddress address)
    {
        long now = Now;
        var info = GetOrAdd(address, now);
        lock (info)
        {
            info.LastFailureTimedOut = false;
            RecordFailure(info, now);
        }
    }

    /// <summary>The retransmission timeout to use for the next query to <paramref name="address"/>.</summary>
    public TimeSpan GetRto(IPAddress address)
    {
        if (TryGetLive(address, out var info))
        {
            long rto = Volatile.Read(ref info.RtoTicks);
            if (rto != 0) return TimeSpan.FromTicks(rto);
        }
        return TimeSpan.FromTicks(ClampRto(Options.InitialRto.Ticks));
    }

    /// <summary>The smoothed RTT, or null when never measured (server selection prefers measured, fast servers).</summary>
    public TimeSpan? GetSmoothedRtt(IPAddress address)
    {
        if (!TryGetLive(address, out var info)) return null;
        lock (info) return info.HasSample ? TimeSpan.FromTicks((long)info.SmoothedRttTicks) : null;
    }

    /// <summary>
    /// Ages the smoothed RTT of a measured server that selection passed over (BIND's SRTT aging), so that one bad
    /// sample does not keep a fast server unused: each pass lowers it a little until it is tried again. The RTO is
    /// left alone.
    /// </summary>
    public void AgeSmoothedRtt(IPAddress address, double factor)
    {
        if (!TryGetLive(address, out var info)) return;
        lock (info)
        {
            if (info.HasSample && info.ConsecutiveFailures == 0) info.SmoothedRttTicks *= factor;
        }
    }

    /// <summary>Everything server selection weighs, read under one lock (one call per candidate address).</summary>
    public ServerEstimate GetEstimate(IPAddress address)
    {
        if (!TryGetLive(address, out var info))
            return new ServerEstimate(null, TimeSpan.FromTicks(ClampRto(Options.InitialRto.Ticks)), 0, false);
        long now = Now;
        lock (info)
        {
            return new ServerEstimate(
                info.HasSample ? TimeSpan.FromTicks((long)info.SmoothedRttTicks) : null,
                TimeSpan.FromTicks(info.RtoTicks != 0 ? info.RtoTicks : ClampRto(Options.InitialRto.Ticks)),
                info.ConsecutiveFailures,
                info.HeldDownUntilTicks > now);
        }
    }

    /// <summary>True while the server is held down after repeated failures.</summary>
    public bool IsHeldDown(IPAddress address) =>
        TryGetLive(address, out var info) && Volatile.Read(ref info.HeldDownUntilTicks) > Now;

    /// <summary>
    /// While the server is held down: how its last exchange failed (<see cref="ExchangeStatus.Timeout"/> or
    /// <see cref="ExchangeStatus.NetworkError"/>), which the skipped exchange reports so that the client's Extended
    /// DNS Error stays the same; null when it is not held down.
    /// </summary>
    public ExchangeStatus? HeldDownFailure(IPAddress address)
    {
        if (!TryGetLive(address, out var info) || Volatile.Read(ref info.HeldDownUntilTicks) <= Now) return null;
        return Volatile.Read(ref info.LastFailureTimedOut) ? ExchangeStatus.Timeout : ExchangeStatus.NetworkError;
    }

    public EdnsSupport GetEdnsSupport(IPAddress address) => TryGetLive(address, out var info) ? info.Edns : EdnsSupport.Unknown;

    public void SetEdnsSupport(IPAddress address, EdnsSupport support) => Update(address, info => info.Edns = support);

    /// <summary>The largest EDNS UDP payload size that got an answer through, 0 when unknown.</summary>
    public ushort GetWorkingPayloadSize(IPAddress address) => TryGetLive(address, out var info) ? info.WorkingPayloadSize : (ushort)0;

    public void SetWorkingPayloadSize(IPAddress address, ushort size) => Update(address, info => info.WorkingPayloadSize = size);

    public Capability GetTransportSupport(IPAddress address, UpstreamTransport transport)
    {
        if (!TryGetLive(address, out var info)) return Capability.Unknown;
        return transport switch
        {
            UpstreamTransport.Tcp => info.Tcp,
            UpstreamTransport.Tls => info.Tls,
            _ => Capability.Unknown,
        };
    }

    public void SetTransportSupport(IPAddress address, UpstreamTransport transport, Capability capability) => Update(address, info =>
    {
        if (transport == UpstreamTransport.Tcp) info.Tcp = capability;
        else if (transport == UpstreamTransport.Tls) info.Tls = capability;
    });

    /// <summary>Whether the server echoes the question's letter case (so 0x20 can be used with it).</summary>
    public Capability GetCasePreservation(IPAddress address) => TryGetLive(address, out var info) ? info.CasePreservation : Capability.Unknown;

    public void SetCasePreservation(IPAddress address, Capability capability) => Update(address, info => info.CasePreservation = capability);

    /// <summary>Every live server, for metrics and status.</summary>
    public IReadOnlyList<ServerSnapshot> Snapshot()
    {
        long now = Now;
        var result = new List<ServerSnapshot>(_servers.Count);
        foreach (var (address, info) in _servers)
        {
            if (IsExpired(info, now)) continue;
            lock (info)
            {
                result.Add(new ServerSnapshot(
                    address,
                    info.HasSample ? TimeSpan.FromTicks((long)info.SmoothedRttTicks) : null,
                    info.HasSample ? TimeSpan.FromTicks((long)info.RttVarianceTicks) : null,
                    info.RtoTicks != 0 ? TimeSpan.FromTicks(info.RtoTicks) : TimeSpan.FromTicks(ClampRto(Options.InitialRto.Ticks)),
                    info.Responses,
                    info.Timeouts,
                    info.ConsecutiveFailures,
                    info.HeldDownUntilTicks > now ? new DateTimeOffset(info.HeldDownUntilTicks, TimeSpan.Zero) : null,
                    info.Edns,
                    info.WorkingPayloadSize,
                    info.Tcp,
                    info.Tls,
                    info.CasePreservation,
                    new DateTimeOffset(info.LastUpdatedTicks, TimeSpan.Zero)));
            }
        }
        return result;
    }

    /// <summary>Forgets servers not updated within the entry lifetime; returns how many.</summary>
    public int RemoveExpired()
    {
        long now = Now;
        int removed = 0;
        foreach (var pair in _servers)
        {
            if (IsExpired(pair.Value, now) && _servers.TryRemove(pair)) removed++;
        }
        return removed;
    }

    private long Now => clock.UtcNow.UtcTicks;

    private void RecordFailure(ServerInfo info, long now)
    {
        info.ConsecutiveFailures++;
        int beyond = info.ConsecutiveFailures - Options.HoldDownAfterFailures;
        if (beyond >= 0)
        {
            long holdDown = Options.InitialHoldDown.Ticks << Math.Min(beyond, 30);
            if (holdDown <= 0 || holdDown > Options.MaxHoldDown.Ticks) holdDown = Options.MaxHoldDown.Ticks;
            Volatile.Write(ref info.HeldDownUntilTicks, now + holdDown);
        }
        Volatile.Write(ref info.LastUpdatedTicks, now);
    }

    private void Update(IPAddress address, Action<ServerInfo> change)
    {
        long now = Now;
        var info = GetOrAdd(address, now);
        lock (info)
        {
            change(info);
            Volatile.Write(ref info.LastUpdatedTicks, now);
        }
    }

    private bool TryGetLive(IPAddress address, out ServerInfo info)
    {
        if (!_servers.TryGetValue(address, out info!)) return false;
        if (!IsExpired(info, Now)) return true;
        _servers.TryRemove(new KeyValuePair<IPAddress, ServerInfo>(address, info));
        return false;
    }

    private ServerInfo GetOrAdd(IPAddress address, long now)
    {
        if (TryGetLive(address, out var info)) return info;
        if (_servers.Count >= Options.MaxServers) MakeRoom(now);
        return _servers.GetOrAdd(address, static (_, t) => new ServerInfo(t), now);
    }

    /// <summary>Forgets expired servers, then, if still full, the least recently updated tenth. Rare: only when full.</summary>
    private void MakeRoom(long now)
    {
        if (RemoveExpired() > 0 && _servers.Count < Options.MaxServers) return;
        var byAge = new List<KeyValuePair<IPAddress, ServerInfo>>(_servers);
        byAge.Sort(static (a, b) => Volatile.Read(ref a.Value.LastUpdatedTicks).CompareTo(Volatile.Read(ref b.Value.LastUpdatedTicks)));
        int excess = _servers.Count - Options.MaxServers + 1;
        int drop = Math.Max(excess, Options.MaxServers / 10);
        for (int i = 0; i < drop && i < byAge.Count; i++) _servers.TryRemove(byAge[i]);
    }

    private bool IsExpired(ServerInfo info, long now) => now - Volatile.Read(ref info.LastUpdatedTicks) > Options.EntryLifetime.Ticks;

    private long ClampRto(long ticks) => Math.Clamp(ticks, Options.MinRto.Ticks, Options.MaxRto.Ticks);
}
