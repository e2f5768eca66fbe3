using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// A small signed hierarchy for end-to-end validation tests: the root (signed, the trust anchor), example. (signed,
/// with DS in the root) and insecure. (delegated without DS, the absence proven by the root's NSEC).
/// </summary>
public abstract class SignedHierarchyTests
{
    protected const string RootAddress = "198.41.0.4";
    protected const string ExampleAddress = "192.0.2.1";
    protected const string InsecureAddress = "192.0.2.2";

    protected readonly FakeAuthority _authority = new();
    protected readonly VirtualClock _clock = new();
    private protected readonly Kit.TestKey _rootKey = new Kit.Ed25519Key();
    private protected readonly Kit.TestKey _exampleKey = new Kit.Ed25519Key();
    protected readonly FakeZone _root;
    protected readonly FakeZone _example;
    protected readonly FakeZone _insecure;
    protected readonly uint _now;

    protected SignedHierarchyTests()
    {
        _now = (uint)_clock.UtcNow.ToUnixTimeSeconds();
        _example = new FakeZone("example.",
            "@ 3600 SOA ns hostmaster 1 7200 3600 1209600 300",
            "@ NS ns",
            "ns A 192.0.2.1",
            "www A 192.0.2.80",
            "alias CNAME www",
            "@ NSEC alias NS SOA RRSIG NSEC DNSKEY",
            "alias NSEC ns CNAME RRSIG NSEC",
            "ns NSEC www A RRSIG NSEC",
            "www NSEC @ A RRSIG NSEC");
        _example.Records.Add(new ResourceRecord(N("example."), RRClass.IN, 3600, _exampleKey.Dnskey()));
        var ds = DsMatcher.ComputeDigest(N("example."), _exampleKey.Dnskey(), DsMatcher.Sha256)!;
        _root = new FakeZone(".",
            ". 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
            ". NS a.root-servers.net.",
            "a.root-servers.net. A 198.41.0.4",
            "example. NS ns.example.",
            "ns.example. A 192.0.2.1",
            "insecure. NS ns.insecure.",
            "ns.insecure. A 192.0.2.2",
            ". NSEC example. NS SOA RRSIG NSEC DNSKEY",
            "example. NSEC insecure. NS DS RRSIG NSEC",
            "insecure. NSEC . NS RRSIG NSEC");
        _root.Records.Add(new ResourceRecord(DnsName.Root, RRClass.IN, 86400, _rootKey.Dnskey()));
        _root.Records.Add(new ResourceRecord(N("example."), RRClass.IN, 86400,
            new DsData(RRType.DS, _exampleKey.Dnskey().KeyTag, _exampleKey.Algorithm, DsMatcher.Sha256, ds)));
        _insecure = new FakeZone("insecure.",
            "@ 3600 SOA ns hostmaster 1 7200 3600 1209600 300",
            "@ NS ns",
            "ns A 192.0.2.2",
            "www A 192.0.2.90");
        Sign(_root, _rootKey);
        Sign(_example, _exampleKey);
        Serve(RootAddress, _root);
        Serve(ExampleAddress, _example);
        Serve(InsecureAddress, _insecure);
    }

    protected static DnsName N(string name) => DnsName.Parse(name);

    /// <summary>The trust anchors of the last recursor made (negative anchors can be added to them at run time).</summary>
    protected TrustAnchors Anchors { get; private set; } = new();

    private protected void Sign(FakeZone zone, Kit.TestKey key, uint? expiration = null) => SignedZones.Sign(zone, key, _now - 3600, expiration ?? _now + 86400 * 30);

    protected void Serve(string address, FakeZone zone) => SignedZones.Serve(_authority, address, zone);

    protected Recursor Recursor(bool validation = true, IReadOnlyList<DnsName>? negativeAnchors = null, bool aggressiveNsec = true, bool qmin = false,
        RecordCache? cache = null, int maxVerifications = 0)
    {
        var anchors = Anchors = new TrustAnchors();
        var ds = DsMatcher.ComputeDigest(DnsName.Root, _rootKey.Dnskey(), DsMatcher.Sha256)!;
        anchors.Add(new ResourceRecord(DnsName.Root, RRClass.IN, 0, new DsData(RRType.DS, _rootKey.Dnskey().KeyTag, _rootKey.Algorithm, DsMatcher.Sha256, ds)));
        var options = new RecursorOptions
        {
            RootHints = RootHints.Single(N("a.root-servers.net."), IPAddress.Parse(RootAddress)),
            QnameMinimisation = qmin,
            UseIPv6 = false,
            Validation = validation,
            TrustAnchors = anchors,
            NegativeTrustAnchors = negativeAnchors ?? [],
            AggressiveNsec = aggressiveNsec,
        };
        if (maxVerifications > 0)
            options = options with { Limits = options.Limits with { Dnssec = options.Limits.Dnssec with { MaxVerificationsPerQuery = maxVerifications } } };
        return new Recursor(options, _clock, cache ?? new RecordCache(_clock), new KeepOrderSelector(), new LameServerList(_clock, options.LameHoldDown));
    }

    protected async Task<DnsMessage> Ask(Recursor recursor, string name, RRType type = RRType.A, bool dnssecOk = true, bool cd = false, bool ad = false)
    {
        var query = DnsMessage.CreateQuery(4242, N(name), type, RRClass.IN, recursionDesired: true, dnssecOk: dnssecOk);
        if (cd) query.Set(HeaderFlags.CD);
        if (ad) query.Set(HeaderFlags.AD);
        return (await recursor.ResolveAsync(new Request(query), _authority)).Message;
    }

    protected static EdeCode? Ede(DnsMessage m) => m.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => (EdeCode?)o.InfoCode).FirstOrDefault();

    protected static void Tamper(FakeZone zone, string owner, RRType covered) => SignedZones.Tamper(zone, owner, covered);

    /// <summary>Answers <paramref name="qname"/> at the example. server with the given records, signed by example.'s key,
    /// then <paramref name="unsignedAnswer"/> as given.</summary>
    protected void Script(string qname, List<ResourceRecord> answer, List<ResourceRecord> authority, int? answerLabels = null, bool sign = true,
        List<ResourceRecord>? unsignedAnswer = null)
    {
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            if (!request.Query.Question.Name.Equals(N(qname))) return honest(request);
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            foreach (var set in answer.GroupBy(r => (r.Name, r.Type)))
            {
                response.Answers.AddRange(set);
                if (!sign || set.Key.Type == RRType.CNAME && answer.Exists(r => r.Type == RRType.DNAME)) continue; // synthesised: unsigned
                var sig = _exampleKey.SignRRset([.. set], _example.Origin, _now - 3600, _now + 86400, labels: answerLabels, originalTtl: set.First().Ttl);
                response.Answers.Add(new ResourceRecord(set.Key.Name, RRClass.IN, set.First().Ttl, sig));
            }
            if (unsignedAnswer is not null) response.Answers.AddRange(unsignedAnswer);
            response.Authority.AddRange(authority);
            SignedZones.AddSignatures(_example, response.Authority);
            return response;
        };
    }

    /// <summary>Re-signs example. with an NSEC3 chain (SHA-1, no salt, no extra iterations) in place of its NSECs.</summary>
    private protected void UseNsec3()
    {
        _example.Records.RemoveAll(r => r.Type is RRType.NSEC or RRType.RRSIG);
        var types = new Dictionary<string, string>
        {
            ["example."] = "NS SOA RRSIG DNSKEY",
            ["alias.example."] = "CNAME RRSIG",
            ["ns.example."] = "A RRSIG",
            ["www.example."] = "A RRSIG",
        };
        var hashed = types.Keys.Select(n => (Label: Nsec3Hash.ToLabel(Nsec3Hash.Compute(N(n), [], 0)), Types: types[n])).OrderBy(h => h.Label, StringComparer.Ordinal).ToList();
        for (int i = 0; i < hashed.Count; i++)
            _example.Records.Add(Kit.Rr($"{hashed[i].Label}.example. 300 IN NSEC3 1 0 0 - {hashed[(i + 1) % hashed.Count].Label} {hashed[i].Types}"));
        Sign(_example, _exampleKey);
    }
}
