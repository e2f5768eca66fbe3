using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver;

namespace Ananas.Resolver.Tests.Fakes;

/// <summary>What one fake server does.</summary>
public sealed class FakeServer
{
    public List<FakeZone> Zones { get; } = [];

    /// <summary>Never answers (the exchanger reports a timeout).</summary>
    public bool Silent { get; set; }

    /// <summary>Queries for which the exchanger reports a network error (port unreachable, connection refused) at once.</summary>
    public Func<ExchangeRequest, bool>? Unreachable { get; set; }

    /// <summary>Replaces the authoritative logic: return the response to send, or null to stay silent.</summary>
    public Func<ExchangeRequest, DnsMessage?>? Respond { get; set; }
}

/// <summary>
/// A scripted <see cref="IExchanger"/>: authoritative servers simulated from in-memory zones, addressed by IP.
/// Answers like an authority (AA answers, referrals with glue, NXDOMAIN/NODATA with SOA, CNAMEs followed inside
/// the zone, DNAME synthesis) and records every query it receives. Unknown addresses time out.
/// </summary>
public sealed class FakeAuthority : IExchanger
{
    private readonly Dictionary<IPAddress, FakeServer> _servers = [];

    public List<ExchangeRequest> Queries { get; } = [];

    public FakeServer Server(string address)
    {
        var ip = IPAddress.Parse(address);
        if (!_servers.TryGetValue(ip, out var server)) _servers[ip] = server = new FakeServer();
        return server;
    }

    public FakeAuthority Serve(string address, params FakeZone[] zones)
    {
        Server(address).Zones.AddRange(zones);
        return this;
    }

    /// <summary>The queries sent, as "address qname qtype" lines (lowercase names).</summary>
    public List<string> Log => Queries.ConvertAll(q => $"{q.Server.Address} {Answers.Text(q.Query.Question.Name)} {q.Query.Question.Type}");

    public int CountTo(string address) => Queries.Count(q => q.Server.Address.Equals(IPAddress.Parse(address)));

    public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        Queries.Add(request);
        var timeout = ExchangeResult.Timeout(TimeSpan.FromMilliseconds(1500), request.Transport);
        if (!_servers.TryGetValue(request.Server.Address, out var server) || server.Silent) return ValueTask.FromResult(timeout);
        if (server.Unreachable?.Invoke(request) == true) return ValueTask.FromResult(ExchangeResult.Failed(ExchangeStatus.NetworkError, request.Transport));
        // A real exchanger copies the query to the wire and back; do the same so nothing is shared by reference.
        var query = DnsMessage.Parse(request.Query.ToArray());
        var response = server.Respond is not null ? server.Respond(request with { Query = query }) : Answer(server, query);
        if (response is null) return ValueTask.FromResult(timeout);
        return ValueTask.FromResult(ExchangeResult.Ok(DnsMessage.Parse(response.ToArray()), TimeSpan.FromMilliseconds(10), request.Transport));
    }

    /// <summary>Authoritative answer from the deepest zone the server holds for the name.</summary>
    public static DnsMessage Answer(FakeServer server, DnsMessage query)
    {
        var q = query.Question;
        var response = query.CreateResponse();
        FakeZone? zone = null;
        foreach (var z in server.Zones)
            if (q.Name.IsSubdomainOf(z.Origin) && (zone is null || z.Origin.LabelCount > zone.Origin.LabelCount)) zone = z;
        if (zone is null)
        {
            response.Rcode = Rcode.Refused;
            return response;
        }

        var name = q.Name;
        for (int hops = 0; hops < 8; hops++)
        {
            // Delegations below the apex, from the top down.
            for (int labels = zone.Origin.LabelCount + 1; labels <= name.LabelCount; labels++)
            {
                var cut = name.GetAncestor(labels);
                var ns = zone.At(cut, RRType.NS);
                if (ns.Count == 0 || (q.Type == RRType.DS && cut.Equals(name))) continue;
                if (response.Answers.Count > 0) return Authoritative(response);
                response.Authority.AddRange(ns);
                foreach (var rr in ns)
                    foreach (var rec in zone.Records)
                        if (rec.Name.Equals(((NameData)rr.Data).Target) && rec.Type is RRType.A or RRType.AAAA) response.Additional.Add(rec);
                return response;
            }
            for (int labels = name.LabelCount - 1; labels > zone.Origin.LabelCount - 1 && labels >= 0; labels--)
            {
                var owner = name.GetAncestor(labels);
                var dname = zone.At(owner, RRType.DNAME);
                if (dname.Count == 0 || labels == name.LabelCount) continue;
                response.Answers.Add(dname[0]);
                var target = name.ReplaceSuffix(owner, ((NameData)dname[0].Data).Target);
                if (target is null)
                {
                    response.Rcode = Rcode.YXDomain;
                    return Authoritative(response);
                }
                response.Answers.Add(new ResourceRecord(name, dname[0].Ttl, NameData.Cname(target)));
                return Authoritative(response);
            }
            var data = zone.At(name, q.Type);
            if (data.Count > 0)
            {
                response.Answers.AddRange(data);
                return Authoritative(response);
            }
            var cname = zone.At(name, RRType.CNAME);
            if (cname.Count > 0 && q.Type != RRType.CNAME)
            {
                response.Answers.Add(cname[0]);
                name = ((NameData)cname[0].Data).Target;
                if (!name.IsSubdomainOf(zone.Origin)) return Authoritative(response);
                continue;
            }
            if (!zone.Exists(name)) response.Rcode = Rcode.NXDomain;
            if (zone.Soa is { } soa) response.Authority.Add(soa);
            return Authoritative(response);
        }
        return Authoritative(response);
    }

    private static DnsMessage Authoritative(DnsMessage response)
    {
        response.Set(HeaderFlags.AA);
        return response;
    }
}
