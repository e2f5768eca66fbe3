using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Iteration;

/// <summary>What asking a delegation's servers gave: a usable response, or why there is none.</summary>
internal readonly record struct ServerReply(ClassifiedResponse? Response, ResolutionFailure? Failure);

/// <summary>
/// Asking a delegation's servers for one resolution: server order (selector, lame and bogus servers last),
/// glueless NS lookups, parent-side glue as a last resort, and the exchanges themselves under the client query's
/// bounds (upstream budget, deadline, cancellation). Not thread-safe: one instance per <see cref="Resolution"/>.
/// </summary>
internal sealed class ServerQueries
{
    /// <summary>Looks up NS names' addresses as sub-resolutions (glueless delegations): the resolution itself, not a delegate made for each one.</summary>
    public interface IAddressLookup
    {
        ValueTask ResolveAddressesAsync(NameServer server, int depth);
    }

    private readonly RecursorOptions _options;
    private readonly Limits _limits;
    private readonly IRecordCache _cache;
    private readonly ILameServerList _lame;
    private readonly ILameServerList _bogusServers;
    private readonly IServerSelector _selector;
    private readonly IClock _clock;
    private readonly IAddressLookup _addressLookup;
    // The client query's parts, set by Begin (a reused resolution's are its new query's).
    private IExchanger _exchanger = null!;
    private Action<UpstreamExchange>? _requestTrace;
    private CancellationToken _cancellation;

    // Glue addresses seen in referrals during this resolution, by NS name (the parent side's view). The child zone
    // may publish other addresses for the same name; when those fail, the parent's are a last resort (Unbound's
    // parent-side glue fallback; deckard iter_pcdiff, iter_pcdirect).
    // Created by the first referral with glue.
    private Dictionary<DnsName, List<IPEndPoint>>? _parentSideGlue;

    public ServerQueries(RecursorOptions options, IRecordCache cache, ILameServerList lame, ILameServerList bogusServers, IServerSelector selector,
        IClock clock, IAddressLookup addressLookup)
    {
        _options = options;
        _limits = options.Limits;
        _cache = cache;
        _lame = lame;
        _bogusServers = bogusServers;
        _selector = selector;
        _clock = clock;
        _addressLookup = addressLookup;
    }

    /// <summary>Starts a client query's exchanges: nothing of a previous query's (counts, sources, glue, abort) remains.</summary>
    public void Begin(IExchanger exchanger, Action<UpstreamExchange>? requestTrace, DateTimeOffset deadline, UpstreamBudget budget, CancellationToken cancellation)
    {
        _exchanger = exchanger;
        _requestTrace = requestTrace;
        _cancellation = cancellation;
        Deadline = deadline;
        Budget = budget;
        UpstreamQueries = 0;
        _sources?.Clear();
        Abort = null;
        PartialBound = null;
        TcpOnly = false;
        _parentSideGlue = null;
    }

    /// <summary>Lets go of the query's objects while idle (<see cref="ResolutionPool"/>).</summary>
    public void End()
    {
        _exchanger = null!;
        _requestTrace = null;
        _cancellation = default;
        _sources?.Clear();
        Abort = null;
        PartialBound = null;
        _parentSideGlue = null;
    }

    /// <summary>The client query's upstream budget, which these exchanges draw on.</summary>
    public UpstreamBudget Budget { get; private set; } = null!;

    /// <summary>When the client query's time is up.</summary>
    public DateTimeOffset Deadline { get; private set; }

    /// <summary>Upstream exchanges made (this resolution's share of <see cref="Budget"/>).</summary>
    public int UpstreamQueries { get; private set; }

    /// <summary>Validation on: the servers whose responses were used, with the zone cut each was asked for; null when none.
    /// The list is this instance's, emptied for its next query: a caller keeping the servers copies them.</summary>
    public List<(DnsName ZoneCut, IPAddress Server)>? Sources => _sources is { Count: > 0 } ? _sources : null;

    private List<(DnsName ZoneCut, IPAddress Server)>? _sources;

    /// <summary>Set once a bound that ends the whole query is hit (query budget, time, cancellation).</summary>
    public ResolutionFailure? Abort { get; private set; }

    /// <summary>The last bound that stopped part of the work (e.g. NS fan-out), reported if nothing else worked.</summary>
    public ResolutionFailure? PartialBound { get; set; }

    /// <summary>Set while asking forwarders configured for TCP only.</summary>
    public bool TcpOnly { get; set; }

    /// <summary>Remembers glue a referral gave for an NS name: the parent side's addresses, a last resort.</summary>
    public void RememberParentSideGlue(DnsName target, RRset glue)
    {
        _parentSideGlue ??= [];
        if (!_parentSideGlue.TryGetValue(target, out var parentSide)) _parentSideGlue[target] = parentSide = [];
        for (int i = 0; i < glue.Data.Count; i++)
        {
            var g = glue.Data[i];
            var endpoint = new IPEndPoint(((AddressData)g).Address, 53);
            if (!parentSide.Contains(endpoint)) parentSide.Add(endpoint);
        }
    }

    /// <summary>
    /// Asks the delegation's servers, one at a time, until one gives a usable response. Servers with known
    /// addresses go first (in the selector's order, known-lame ones last); then glueless NS names are resolved,
    /// at most <see cref="Limits.MaxGluelessNameServers"/> of them.
    /// </summary>
    public async ValueTask<ServerReply> QueryDelegationAsync(Delegation delegation, DnsName name, RRType type, int depth)
    {
        var reused = ServerCandidates.Rent();
        try
        {
            return await QueryDelegationAsync(delegation, new Question(name, type, RRClass.IN), depth, reused.Tried, reused.Next);
        }
        finally
        {
            reused.Return();
        }
    }

    private async ValueTask<ServerReply> QueryDelegationAsync(Delegation delegation, Question question, int depth, HashSet<IPEndPoint> tried,
        List<IPEndPoint> candidates)
    {
        int exchanges = 0;
        int unreachable = 0;
        int networkErrors = 0;
        // Servers held off for sending bogus data: asked after every other server, glueless ones included.
        List<IPEndPoint>? heldOff = null;
        foreach (var server in delegation.NameServers) AddCandidates(server.Addresses, delegation, tried, candidates);
        OrderCandidates(candidates, delegation, ref heldOff);

        var result = await TryServersAsync(candidates, delegation, question);
        if (result.Response is not null || Abort is not null) return Conclude(result.Response);
        exchanges += result.Exchanges;
        unreachable += result.Unreachable;
        networkErrors += result.NetworkErrors;
        var recursionLame = result.RecursionLame;

        int lookups = 0;
        foreach (var server in delegation.NameServers)
        {
            if (server.AddressesResolved || server.Name is null) continue;
            if (server.Addresses.Count > 0 && AnyQueryable(server.Addresses, delegation)) continue;
            if (lookups >= _limits.MaxGluelessNameServers)
            {
                PartialBound = ResolutionFailure.Bound("glueless NS lookups per delegation", _limits.MaxGluelessNameServers);
                break;
            }
            lookups++;
            server.AddressesResolved = true;
            await _addressLookup.ResolveAddressesAsync(server, depth);
            if (Abort is not null) return Conclude(null);
            candidates.Clear();
            AddCandidates(server.Addresses, delegation, tried, candidates);
            OrderCandidates(candidates, delegation, ref heldOff);
            result = await TryServersAsync(candidates, delegation, question);
            if (result.Response is not null || Abort is not null) return Conclude(result.Response);
            exchanges += result.Exchanges;
            unreachable += result.Unreachable;
        networkErrors += result.NetworkErrors;
            recursionLame ??= result.RecursionLame;
        }

        // Last resort: addresses the parent zone gave as glue for these NS names, where the child's own data for
        // them (already tried) differs or could not be resolved.
        candidates.Clear();
        foreach (var server in delegation.NameServers)
        {
            if (server.Name is null) continue;
            if (_parentSideGlue is not null && _parentSideGlue.TryGetValue(server.Name, out var parentSide)) AddCandidates(parentSide, delegation, tried, candidates);
            foreach (var family in (ReadOnlySpan<RRType>)[RRType.A, RRType.AAAA])
            {
                // Learnt by earlier resolutions (deckard/Unbound iter_pcnamerec: the glue came with another query).
                var cached = _cache.GetParentSideGlue(server.Name, family, RRClass.IN);
                if (cached is null) continue;
                var endpoints = new List<IPEndPoint>(cached.RRset.Data.Count);
                for (int i = 0; i < cached.RRset.Data.Count; i++) endpoints.Add(new IPEndPoint(((AddressData)cached.RRset.Data[i]).Address, 53));
                AddCandidates(endpoints, delegation, tried, candidates);
            }
        }
        OrderCandidates(candidates, delegation, ref heldOff);
        // The very last resort: the servers held off for bogus data (the zone may have no other).
        if (heldOff is not null) candidates.AddRange(heldOff);
        if (candidates.Count > 0)
        {
            result = await TryServersAsync(candidates, delegation, question);
            if (result.Response is not null || Abort is not null) return Conclude(result.Response);
            exchanges += result.Exchanges;
            unreachable += result.Unreachable;
        networkErrors += result.NetworkErrors;
            recursionLame ??= result.RecursionLame;
        }

        // Every server that answered is recursion-lame: its answer is better than none (Unbound's last resort).
        if (recursionLame is not null) return new ServerReply(recursionLame, null);
        if (exchanges == 0 && PartialBound is not null) return new ServerReply(null, PartialBound);
        if (exchanges == 0)
            return new ServerReply(null, new ResolutionFailure(EdeCode.NoReachableAuthority, $"no usable server address for {delegation.ZoneCut}") { NoServerAnswered = true });
        // RFC 8914: 23 (Network Error) when every exchange failed at the network (ICMP unreachable, connection refused
        // or reset); 22 (No Reachable Authority) when servers were silent, or answered nothing usable.
        if (networkErrors == exchanges)
            return new ServerReply(null, new ResolutionFailure(EdeCode.NetworkError, $"network error reaching every server for {delegation.ZoneCut} ({exchanges} tried)") { NoServerAnswered = true });
        string what = unreachable == exchanges ? "no server answered" : "no server gave a usable answer";
        return new ServerReply(null, new ResolutionFailure(EdeCode.NoReachableAuthority, $"{what} for {delegation.ZoneCut} ({exchanges} tried)") { NoServerAnswered = unreachable == exchanges });

        ServerReply Conclude(ClassifiedResponse? response) =>
            response is not null ? new ServerReply(response, null) : new ServerReply(null, Abort);
    }

    private bool AnyQueryable(List<IPEndPoint> addresses, Delegation delegation)
    {
        foreach (var a in addresses)
            if (AddressPolicy.MayQuery(a.Address, _options, delegation.IsConfigured)) return true;
        return false;
    }

    private void AddCandidates(List<IPEndPoint> addresses, Delegation delegation, HashSet<IPEndPoint> tried, List<IPEndPoint> candidates)
    {
        foreach (var address in addresses)
            if (AddressPolicy.MayQuery(address.Address, _options, delegation.IsConfigured) && tried.Add(address)) candidates.Add(address);
    }

    /// <summary>
    /// Orders the candidates (selector order, known-lame ones last) and moves those held off for bogus data to
    /// <paramref name="heldOff"/>, which is created when first needed.
    /// </summary>
    private void OrderCandidates(List<IPEndPoint> candidates, Delegation delegation, ref List<IPEndPoint>? heldOff)
    {
        int kept = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var a = candidates[i];
            if (_bogusServers.IsLame(a.Address, delegation.ZoneCut)) (heldOff ??= []).Add(a);
            else candidates[kept++] = a;
        }
        if (kept < candidates.Count) candidates.RemoveRange(kept, candidates.Count - kept);
        if (candidates.Count <= 1) return;
        _selector.Order(candidates, delegation.ZoneCut);
        // Known-lame servers go last: still a last resort when nothing else answers.
        List<IPEndPoint>? lame = null;
        int write = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var a = candidates[i];
            if (_lame.IsLame(a.Address, delegation.ZoneCut)) (lame ??= []).Add(a);
            else candidates[write++] = a;
        }
        if (lame is null) return;
        foreach (var a in lame) candidates[write++] = a;
    }

    private readonly record struct Attempts(ClassifiedResponse? Response, int Exchanges, int Unreachable, int NetworkErrors, ClassifiedResponse? RecursionLame = null);

    private async ValueTask<Attempts> TryServersAsync(List<IPEndPoint> servers, Delegation delegation, Question question)
    {
        int exchanges = 0, unreachable = 0, networkErrors = 0;
        ClassifiedResponse? recursionLame = null;
        foreach (var server in servers)
        {
            var (message, status) = await ExchangeAsync(server, question, delegation);
            if (Abort is not null) return new Attempts(null, exchanges, unreachable, networkErrors);
            exchanges++;
            if (message is null)
            {
                unreachable++;
                if (status == ExchangeStatus.NetworkError) networkErrors++;
                continue;
            }
            PrivateAddressFilter.Scrub(message, _options.PrivateAddresses, _options.PrivateDomains);
            NsRecordLimit.Apply(message, _options.MaxNsRecords);
            var classified = ResponseClassifier.Classify(message, delegation.ZoneCut, question.Name, question.Type, delegation.IsForwarding);
            switch (classified.Kind)
            {
                case ResponseKind.Lame:
                    if (classified.Lameness is { } lameness) _lame.MarkLame(server.Address, delegation.ZoneCut, lameness);
                    if (classified.LastResort is { } lastResort) recursionLame ??= new ClassifiedResponse(lastResort, message);
                    continue;
                case ResponseKind.ServerFailure:
                    continue;
                default:
                    if (_options.Validation) (_sources ??= []).Add((delegation.ZoneCut, server.Address));
                    return new Attempts(classified, exchanges, unreachable, networkErrors);
            }
        }
        return new Attempts(null, exchanges, unreachable, networkErrors, recursionLame);
    }

    /// <summary>
    /// One exchange with one server (over TCP again if the UDP answer was truncated): the response, or null if no
    /// valid one, with how the last exchange ended.
    /// </summary>
    private async ValueTask<(DnsMessage? Response, ExchangeStatus Status)> ExchangeAsync(IPEndPoint server, Question question, Delegation delegation)
    {
        string? tlsName = delegation.TlsNames?.GetValueOrDefault(server);
        var transport = tlsName is not null ? UpstreamTransport.Tls : _options.TcpUpstream || TcpOnly ? UpstreamTransport.Tcp : UpstreamTransport.Udp;
        while (true)
        {
            if (_cancellation.IsCancellationRequested)
            {
                Abort = new ResolutionFailure(EdeCode.Other, "resolution cancelled");
                return (null, ExchangeStatus.Refused);
            }
            if (_clock.UtcNow >= Deadline)
            {
                Abort = ResolutionFailure.Bound("resolution time", $"{_limits.MaxResolutionTime.TotalSeconds:0.###} s");
                return (null, ExchangeStatus.Refused);
            }
            if (!Budget.TryTake())
            {
                Abort = ResolutionFailure.Bound("upstream queries", Budget.Max);
                return (null, ExchangeStatus.Refused);
            }
            UpstreamQueries++;
            var query = DnsMessage.CreateQuery(0, question, recursionDesired: delegation.IsForwarding, dnssecOk: _options.Validation);
            ExchangeResult result;
            try
            {
                result = await _exchanger.ExchangeAsync(new ExchangeRequest(query, server, transport, delegation.Bailiwick) { TlsServerName = tlsName }, _cancellation);
            }
            catch (OperationCanceledException) when (_cancellation.IsCancellationRequested)
            {
                Abort = new ResolutionFailure(EdeCode.Other, "resolution cancelled");
                return (null, ExchangeStatus.Refused);
            }
            // Built only when someone listens: most servers run without a trace.
            if (_options.Trace is not null || _requestTrace is not null)
                Report(new UpstreamExchange(server, question, delegation.ZoneCut, result.Transport, result.Status, result.Response, result.RoundTrip));
            if (result.Status != ExchangeStatus.Response || result.Response is null) return (null, result.Status);
            var response = result.Response;
            if (!Bailiwick.QuestionMatches(response, question)) return (null, ExchangeStatus.MalformedResponse);
            if (response.Has(HeaderFlags.TC))
            {
                if (transport == UpstreamTransport.Udp) { transport = UpstreamTransport.Tcp; continue; }
                return (null, ExchangeStatus.MalformedResponse);
            }
            return (response, ExchangeStatus.Response);
        }
    }

    private void Report(UpstreamExchange exchange)
    {
        _options.Trace?.Invoke(exchange);
        _requestTrace?.Invoke(exchange);
    }

}
