using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// One upstream budget per client query (NXNS / NRDelegation class): the validator's DNSKEY and DS fetches draw on
/// the client query's <see cref="Limits.MaxUpstreamQueries"/>, not on a fresh budget each. The hostile hierarchy: a
/// CNAME chain through <see cref="Zones"/> signed zones, each with <see cref="ServersPerZone"/> servers of which all
/// but the last refuse DNSKEY queries, so that every DNSKEY fetch costs a query per server.
/// </summary>
public sealed class ValidationUpstreamBudgetTests
{
    private const int Zones = 6;
    private const int ServersPerZone = 6;
    private const int Budget = 25;
    private const string RootAddress = "198.41.0.4";

    private readonly FakeAuthority _authority = new();
    private readonly VirtualClock _clock = new();
    private readonly Kit.TestKey _rootKey = new Kit.Ed25519Key();

    private static string Server(int zone, int server) => $"192.0.2.{(zone - 1) * ServersPerZone + server}";

    private void Build()
    {
        uint now = (uint)_clock.UtcNow.ToUnixTimeSeconds();
        var root = new FakeZone(".",
            ". 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
            ". NS a.root-servers.net.",
            "a.root-servers.net. A 198.41.0.4");
        root.Records.Add(new ResourceRecord(DnsName.Root, RRClass.IN, 86400, _rootKey.Dnskey()));
        for (int z = 1; z <= Zones; z++)
        {
            var origin = DnsName.Parse($"z{z}.");
            var key = new Kit.Ed25519Key();
            var lines = new List<string>
            {
                "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300",
                z < Zones ? $"www CNAME www.z{z + 1}." : "www A 192.0.2.200",
            };
            for (int s = 1; s <= ServersPerZone; s++)
            {
                lines.Add($"@ NS ns{s}");
                lines.Add($"ns{s} A {Server(z, s)}");
                root.Records.Add(RecordText.Parse($"z{z}. NS ns{s}.z{z}.", DnsName.Root, 86400));
                root.Records.Add(RecordText.Parse($"ns{s}.z{z}. A {Server(z, s)}", DnsName.Root, 86400));
            }
            root.Records.Add(new ResourceRecord(origin, RRClass.IN, 86400, SignedZones.Ds(origin, key)));
            var zone = new FakeZone($"z{z}.", [.. lines]);
            zone.Records.Add(new ResourceRecord(origin, RRClass.IN, 3600, key.Dnskey()));
            SignedZones.Sign(zone, key, now - 3600, now + 86400 * 30);
            for (int s = 1; s <= ServersPerZone; s++)
            {
                SignedZones.Serve(_authority, Server(z, s), zone);
                if (s == ServersPerZone) continue;
                // Every server but the last refuses DNSKEY queries: each DNSKEY fetch walks the whole NS set.
                var server = _authority.Server(Server(z, s));
                var answer = server.Respond!;
                server.Respond = request => request.Query.Question.Type == RRType.DNSKEY ? request.Query.CreateResponse(Rcode.Refused) : answer(request);
            }
        }
        SignedZones.Sign(root, _rootKey, now - 3600, now + 86400 * 30);
        SignedZones.Serve(_authority, RootAddress, root);
    }

    private Recursor Recursor(int maxUpstreamQueries)
    {
        var options = new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse(RootAddress)),
            QnameMinimisation = false,
            UseIPv6 = false,
            Validation = true,
            TrustAnchors = SignedZones.RootAnchor(_rootKey),
            Limits = Limits.Default with { MaxUpstreamQueries = maxUpstreamQueries },
        };
        return new Recursor(options, _clock, new RecordCache(_clock), new KeepOrderSelector(), new LameServerList(_clock, options.LameHoldDown));
    }

    private async Task<Response> Ask(Recursor recursor) =>
        await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(7, DnsName.Parse("www.z1."), RRType.A, RRClass.IN, recursionDesired: true, dnssecOk: true)), _authority);

    [Fact]
    public async Task Validator_fetches_draw_on_the_client_querys_one_upstream_budget()
    {
        Build();
        var response = await Ask(Recursor(Budget));

        // Every exchange of the query, the validator's included, came out of the one budget.
        Assert.True(_authority.Queries.Count <= Budget, $"{_authority.Queries.Count} upstream queries for a budget of {Budget}");
        Assert.Equal(Rcode.ServFail, response.Message.Rcode);
        var ede = response.Message.Edns?.Options.OfType<ExtendedErrorOption>().FirstOrDefault();
        Assert.NotNull(ede);
        Assert.Contains(Limits.Describe("upstream queries", Budget), ede.ExtraText);
    }

    [Fact]
    public async Task The_same_hierarchy_validates_when_the_budget_covers_its_work()
    {
        Build();
        var response = await Ask(Recursor(Limits.Default.MaxUpstreamQueries));

        // The hierarchy is sound, only costly: within the default budget it is secure, and it took more than the
        // small budget above (so that test's SERVFAIL is the budget's doing).
        Assert.True(response.Message.Rcode == Rcode.NoError, $"{response.Message.Rcode} {response.Message.Edns?.Options.OfType<ExtendedErrorOption>().FirstOrDefault()?.ExtraText} after {_authority.Queries.Count} queries");
        Assert.True(response.Message.Has(HeaderFlags.AD));
        Assert.True(_authority.Queries.Count > Budget, $"{_authority.Queries.Count} upstream queries");
        Assert.True(_authority.Queries.Count <= Limits.Default.MaxUpstreamQueries);
    }
}
