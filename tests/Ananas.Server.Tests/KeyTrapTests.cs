using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// KeyTrap (CVE-2023-50387) and its NSEC3 variant (CVE-2023-50868) end to end: a validating server on loopback UDP
/// resolves through a signed hierarchy whose hostile zones make validation expensive. The hostile answer must come
/// back quickly as SERVFAIL with an Extended DNS Error naming the bound, while other clients asking for a sound
/// signed zone at the same time keep getting validated answers.
/// </summary>
public sealed class KeyTrapTests
{
    private static readonly DnsName Root = DnsName.Root;

    [Fact]
    public async Task Colliding_key_tags_and_signatures_end_in_servfail_within_the_bounds_while_others_are_served()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer();

        var (trap, others) = await AskWhileOthersAsk(server, "www.keytrap.", RRType.A);

        Assert.Equal(Rcode.ServFail, trap.Rcode);
        var ede = Ede(trap);
        Assert.NotNull(ede);
        Assert.Equal(EdeCode.DnssecBogus, ede.InfoCode);
        Assert.Contains("share key tag", ede.ExtraText); // the bound that stopped it, by name
        AssertServed(others);
        // Without the bounds this answer alone would cost Colliders x Signatures RSA verifications.
        Assert.True(SignedHierarchy.Colliders * SignedHierarchy.TrapSignatures > 10 * DnssecLimits.Default.MaxVerificationsPerQuery);
    }

    [Fact]
    public async Task Huge_nsec3_iteration_count_is_servfail_with_EDE_27_by_default_while_others_are_served()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer();

        var (trap, others) = await AskWhileOthersAsk(server, "nothing.iter.", RRType.A);

        // 2,500 iterations is past the second, bogus limit (RFC 9276 §3.2): fail closed, and tell the client why.
        Assert.True(SignedHierarchy.TrapIterations > DnssecLimits.Default.MaxNsec3IterationsBeforeBogus);
        Assert.Equal(Rcode.ServFail, trap.Rcode);
        Assert.Equal(EdeCode.UnsupportedNsec3IterationsValue, Ede(trap)?.InfoCode);
        AssertServed(others);
    }

    [Fact]
    public async Task Huge_nsec3_iteration_count_is_insecure_with_EDE_27_when_the_bogus_limit_is_off()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer(DnssecLimits.Default with { MaxNsec3IterationsBeforeBogus = ushort.MaxValue });

        var (trap, others) = await AskWhileOthersAsk(server, "nothing.iter.", RRType.A);

        // As the peer resolvers do at any count: the denial is not trusted (no AD), and the client is told why.
        Assert.Equal(Rcode.NXDomain, trap.Rcode);
        Assert.False(trap.Has(HeaderFlags.AD));
        Assert.Equal(EdeCode.UnsupportedNsec3IterationsValue, Ede(trap)?.InfoCode);
        AssertServed(others);
    }

    [Fact]
    public async Task Many_nsec3_parameter_sets_exhaust_the_hash_budget_into_servfail_while_others_are_served()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer();

        // A deep name: the closest-encloser search hashes every ancestor under every parameter set.
        var (trap, others) = await AskWhileOthersAsk(server, "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.hash.", RRType.A);

        Assert.Equal(Rcode.ServFail, trap.Rcode);
        var ede = Ede(trap);
        Assert.NotNull(ede);
        Assert.Contains("NSEC3 hash", ede.ExtraText);
        AssertServed(others);
    }

    [Fact]
    public async Task Many_keys_sharing_a_tag_and_many_DS_stop_at_the_digest_failure_bound_and_the_bogus_key_set_is_kept()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer();

        var (trap, others) = await AskWhileOthersAsk(server, "www.dstrap.", RRType.A);

        // Unbounded, this is 501 keys x 1,000 DS digests; bounded, five (the fifth failure ends them).
        Assert.Equal(Rcode.ServFail, trap.Rcode);
        var ede = Ede(trap);
        Assert.NotNull(ede);
        Assert.Equal(EdeCode.DnssecBogus, ede.InfoCode);
        Assert.Contains(Limits.Describe("DS digest failure", 4), ede.ExtraText);
        AssertServed(others);

        // Another name of the zone: its key set (DNSKEY TTL 0, so not in the record cache) is known bogus, so it is
        // neither fetched nor computed again.
        var second = await DnsTestClient.UdpAsync(server.Endpoint, Query("mail.dstrap.", RRType.A, 9));
        Assert.Equal(Rcode.ServFail, second.Rcode);
        Assert.Contains(Limits.Describe("DS digest failure", 4), Ede(second)?.ExtraText);
        Assert.Equal(1, hierarchy.Asked(N("dstrap."), RRType.DNSKEY));
    }

    [Fact]
    public async Task The_sound_zone_validates_on_its_own()
    {
        var hierarchy = new SignedHierarchy();
        await using var server = hierarchy.StartServer();
        var answer = await DnsTestClient.UdpAsync(server.Endpoint, Query("www.good.", RRType.A, 1));
        Assert.Equal(Rcode.NoError, answer.Rcode);
        Assert.True(answer.Has(HeaderFlags.AD));
    }

    private const int OtherClients = 20;

    /// <summary>
    /// Sends the hostile query, and meanwhile <see cref="OtherClients"/> queries for the sound zone from another
    /// client address. Returns the hostile answer and the others' answers (null where none came in time).
    /// </summary>
    private static async Task<(DnsMessage Trap, DnsMessage?[] Others)> AskWhileOthersAsk(RunningServer server, string name, RRType type)
    {
        var stopwatch = Stopwatch.StartNew();
        var trapTask = DnsTestClient.UdpAsync(server.Endpoint, Query(name, type, 7));
        var others = Enumerable.Range(0, OtherClients).Select(async i =>
        {
            var reply = await DnsTestClient.UdpRawAsync(server.Endpoint, Query($"www.good.", RRType.A, (ushort)(100 + i)).ToArray(), TimeSpan.FromSeconds(10));
            return reply is null ? null : DnsMessage.Parse(reply);
        }).ToArray();
        var trap = await trapTask;
        // Generous for a loaded 2-core CI machine: unbounded, this is hundreds of RSA verifications or millions of
        // SHA-1 runs; bounded, a few milliseconds.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"the hostile answer took {stopwatch.Elapsed}");
        return (trap, await Task.WhenAll(others));
    }

    private static void AssertServed(DnsMessage?[] others)
    {
        Assert.All(others, m =>
        {
            Assert.NotNull(m);
            Assert.Equal(Rcode.NoError, m.Rcode);
            Assert.True(m.Has(HeaderFlags.AD));
            Assert.Contains(m.Answers, r => r.Type == RRType.A);
        });
    }

    private static DnsMessage Query(string name, RRType type, ushort id) =>
        DnsMessage.CreateQuery(id, DnsName.Parse(name), type, RRClass.IN, recursionDesired: true, dnssecOk: true);

    private static ExtendedErrorOption? Ede(DnsMessage m) => m.Edns?.Options.OfType<ExtendedErrorOption>().FirstOrDefault();

    /// <summary>A validating pipeline over the hierarchy, with a UDP listener on 127.0.0.1 (random port).</summary>
    private sealed class RunningServer(UdpListener udp) : IAsyncDisposable
    {
        public IPEndPoint Endpoint { get; } = new(IPAddress.Loopback, udp.LocalEndPoint.Port);

        public ValueTask DisposeAsync() => udp.DisposeAsync();
    }

    /// <summary>
    /// The root (the trust anchor) delegating, with DS, to: good. (sound, ECDSA P-256), keytrap. (RSA/SHA-256: one
    /// real key and <see cref="Colliders"/> keys sharing its key tag; its answer carries <see cref="TrapSignatures"/>
    /// bogus signatures with that tag), iter. (NSEC3 with 2,500 iterations), hash. (NSEC3 records with as many
    /// salts as records, as many iterations as the insecure limit allows) and dstrap. (<see cref="DigestTrapKeys"/>
    /// keys sharing one tag, DNSKEY TTL 0, and <see cref="DigestTrapDs"/> DS with that tag, none matching). Answers by
    /// server address, as the authorities would.
    /// </summary>
    private sealed class SignedHierarchy : IExchanger
    {
        public const int Colliders = 30;
        public const int TrapSignatures = 16;
        /// <summary>Keys of <c>dstrap.</c> sharing its real key's tag, and its DS records at the root: that tag, wrong digests.</summary>
        public const int DigestTrapKeys = 500, DigestTrapDs = 1000;
        /// <summary>NSEC3 iterations of the <c>iter.</c> zone: the KeyTrap NSEC3 variant (each hash costs this + 1 SHA-1 runs).</summary>
        public const int TrapIterations = 2500;
        private const uint Ttl = 3600;

        private readonly Dictionary<IPAddress, Zone> _servers = [];
        private readonly VirtualClock _clock = new();
        private readonly uint _inception, _expiration;
        private readonly Zone _root;

        public SignedHierarchy()
        {
            _inception = (uint)_clock.UtcNow.ToUnixTimeSeconds() - 3600;
            _expiration = _inception + 30 * 86400;
            _root = new Zone(Root, Signer.Ecdsa());
            var good = new Zone(N("good."), Signer.Ecdsa());
            good.Add("www.good. A 192.0.2.80");
            var keytrap = new Zone(N("keytrap."), Signer.Rsa());
            keytrap.Add("www.keytrap. A 192.0.2.66");
            var iter = new Zone(N("iter."), Signer.Ecdsa());
            var hash = new Zone(N("hash."), Signer.Ecdsa());
            var dstrap = new Zone(N("dstrap."), Signer.Ecdsa());
            dstrap.Add("www.dstrap. A 192.0.2.67");
            dstrap.Add("mail.dstrap. A 192.0.2.68");
            Serve("198.41.0.4", _root);
            Delegate(good, "192.0.2.1");
            Delegate(keytrap, "192.0.2.2");
            Delegate(iter, "192.0.2.3");
            Delegate(hash, "192.0.2.4");
            Delegate(dstrap, "192.0.2.5");
            // dstrap.: in place of its real DS, DS records with the real key's tag and algorithm but digests of nothing.
            var dstrapKey = dstrap.Signer.Dnskey;
            _root.Records.RemoveAll(r => r.Type == RRType.DS && r.Name.Equals(dstrap.Origin));
            for (int i = 0; i < DigestTrapDs; i++)
                _root.Add(new ResourceRecord(dstrap.Origin, RRClass.IN, Ttl, new DsData(RRType.DS, dstrapKey.KeyTag, dstrapKey.Algorithm, DsMatcher.Sha256, RandomNumberGenerator.GetBytes(32))));
            foreach (var zone in _servers.Values) zone.SignAll(_inception, _expiration);

            // keytrap.: keys colliding with the real key's tag, and bogus signatures over the answer with that tag.
            var realKey = keytrap.Signer.Dnskey;
            for (int i = 0; i < Colliders; i++) keytrap.AddUnsigned(new ResourceRecord(keytrap.Origin, RRClass.IN, Ttl, Signer.FakeRsaKeyWithTag(realKey.KeyTag, i)));
            keytrap.Records.RemoveAll(r => r.Data is RrsigData { TypeCovered: RRType.DNSKEY });
            keytrap.AddUnsigned(new ResourceRecord(keytrap.Origin, RRClass.IN, Ttl, keytrap.Signer.Sign(keytrap.RRset(keytrap.Origin, RRType.DNSKEY), keytrap.Origin, _inception, _expiration)));
            keytrap.Records.RemoveAll(r => r.Data is RrsigData { TypeCovered: RRType.A });
            for (int i = 0; i < TrapSignatures; i++)
                keytrap.AddUnsigned(new ResourceRecord(N("www.keytrap."), RRClass.IN, Ttl,
                    new RrsigData(RRType.A, 8, 2, Ttl, _expiration, _inception, realKey.KeyTag, keytrap.Origin, RandomNumberGenerator.GetBytes(128))));

            // dstrap.: keys sharing the real key's tag, the DNSKEY RRset with TTL 0 so that every query fetches it.
            dstrap.Records.RemoveAll(r => r.Type == RRType.DNSKEY || r.Data is RrsigData { TypeCovered: RRType.DNSKEY });
            dstrap.AddUnsigned(new ResourceRecord(dstrap.Origin, RRClass.IN, 0, dstrapKey));
            for (int i = 0; i < DigestTrapKeys; i++) dstrap.AddUnsigned(new ResourceRecord(dstrap.Origin, RRClass.IN, 0, Signer.FakeEcdsaKeyWithTag(dstrapKey.KeyTag, i)));
            dstrap.AddUnsigned(new ResourceRecord(dstrap.Origin, RRClass.IN, 0, dstrap.Signer.Sign(dstrap.RRset(dstrap.Origin, RRType.DNSKEY), dstrap.Origin, _inception, _expiration)));

            // iter.: a signed NSEC3 chain of one record with far too many iterations (RFC 9276 §3.2).
            iter.AddSigned(Nsec3(iter.Origin, iterations: TrapIterations, salt: [0xAB]), _inception, _expiration);
            // hash.: 20 NSEC3 records, each its own parameter set (a different salt), each signed.
            for (int i = 0; i < 20; i++) hash.AddSigned(Nsec3(hash.Origin, iterations: (ushort)DnssecLimits.Default.MaxNsec3Iterations, salt: [(byte)i, 0x5A]), _inception, _expiration);
        }

        public RunningServer StartServer(DnssecLimits? limits = null)
        {
            var anchors = new TrustAnchors();
            var rootKey = _root.Signer.Dnskey;
            anchors.Add(new ResourceRecord(Root, RRClass.IN, Ttl,
                new DsData(RRType.DS, rootKey.KeyTag, rootKey.Algorithm, DsMatcher.Sha256, DsMatcher.ComputeDigest(Root, rootKey, DsMatcher.Sha256)!)));
            var options = new RecursorOptions
            {
                RootHints = RootHints.Single(N("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
                QnameMinimisation = false,
                UseIPv6 = false,
                Validation = true,
                TrustAnchors = anchors,
                Limits = Limits.Default with { Dnssec = limits ?? DnssecLimits.Default },
            };
            var recursor = new Recursor(options, _clock, new SeededRandom(1), new RecordCache(_clock));
            var answers = new AnswerCache(new AnswerCacheOptions { Storage = new CacheOptions { CapacityBytes = 4 << 20 } }, _clock);
            var pipeline = new QueryPipeline(new PipelineOptions { Access = AccessList.Default }, answers, recursor, this, _clock);
            var udp = new UdpListener(new IPEndPoint(IPAddress.Loopback, 0), pipeline, new UdpListenerOptions { ThreadsPerSocket = 1, ReceiveBufferBytes = 0, SendBufferBytes = 0 });
            udp.Start();
            return new RunningServer(udp);
        }

        private void Serve(string address, Zone zone) => _servers[IPAddress.Parse(address)] = zone;

        private void Delegate(Zone child, string address)
        {
            var ns = N("ns." + child.Origin);
            _root.Add(new ResourceRecord(child.Origin, RRClass.IN, Ttl, NameData.Ns(ns)));
            _root.Add(new ResourceRecord(ns, RRClass.IN, Ttl, new AddressData(IPAddress.Parse(address))));
            var key = child.Signer.Dnskey;
            _root.Add(new ResourceRecord(child.Origin, RRClass.IN, Ttl,
                new DsData(RRType.DS, key.KeyTag, key.Algorithm, DsMatcher.Sha256, DsMatcher.ComputeDigest(child.Origin, key, DsMatcher.Sha256)!)));
            child.Add(new ResourceRecord(child.Origin, RRClass.IN, Ttl, NameData.Ns(ns)));
            child.Add(new ResourceRecord(ns, RRClass.IN, Ttl, new AddressData(IPAddress.Parse(address))));
            Serve(address, child);
        }

        private static ResourceRecord Nsec3(DnsName zone, ushort iterations, byte[] salt)
        {
            var owner = zone.Prepend(Base32Hex.Encode(RandomNumberGenerator.GetBytes(20), lowercase: true));
            return RecordText.Parse($"{owner} {Ttl} IN NSEC3 1 0 {iterations} {Convert.ToHexString(salt)} " +
                $"{Base32Hex.Encode(RandomNumberGenerator.GetBytes(20), lowercase: true)} A RRSIG", Root);
        }

        private readonly List<(DnsName Name, RRType Type)> _asked = [];

        /// <summary>Queries received for (name, type), by any server.</summary>
        public int Asked(DnsName name, RRType type)
        {
            lock (_asked) return _asked.Count(a => a.Type == type && a.Name.Equals(name));
        }

        public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
        {
            var query = DnsMessage.Parse(request.Query.ToArray());
            var q = query.Question;
            lock (_asked) _asked.Add((q.Name, q.Type));
            var zone = _servers[request.Server.Address];
            var response = query.CreateResponse();
            // A referral from the root for names in a child zone (DS queries are the parent's to answer).
            var cut = zone == _root ? ChildCut(q.Name, q.Type) : null;
            if (cut is not null)
            {
                response.Authority.AddRange(zone.WithSignatures(cut, RRType.NS, signed: false));
                response.Authority.AddRange(zone.WithSignatures(cut, RRType.DS));
                var ns = N("ns." + cut);
                response.Additional.AddRange(zone.RRset(ns, RRType.A));
            }
            else
            {
                response.Set(HeaderFlags.AA);
                response.Answers.AddRange(zone.WithSignatures(q.Name, q.Type));
                if (response.Answers.Count == 0)
                {
                    if (!zone.Records.Exists(r => r.Name.Equals(q.Name))) response.Rcode = Rcode.NXDomain;
                    response.Authority.AddRange(zone.WithSignatures(zone.Origin, RRType.SOA));
                    foreach (var nsec3 in zone.Records.Where(r => r.Type == RRType.NSEC3))
                        response.Authority.AddRange(zone.WithSignatures(nsec3.Name, RRType.NSEC3));
                }
            }
            return ValueTask.FromResult(ExchangeResult.Ok(DnsMessage.Parse(response.ToArray()), TimeSpan.FromMilliseconds(1), request.Transport));
        }

        private DnsName? ChildCut(DnsName name, RRType type)
        {
            if (name.IsRoot) return null;
            var top = name.GetAncestor(1);
            if (top.Equals(name) && type == RRType.DS) return null;
            return _root.Records.Exists(r => r.Type == RRType.NS && r.Name.Equals(top)) ? top : null;
        }
    }

    private sealed class Zone
    {
        public Zone(DnsName origin, Signer signer)
        {
            Origin = origin;
            Signer = signer;
            Add(origin.IsRoot
                ? ". 3600 IN SOA a.root-servers.net. hostmaster.root-servers.net. 1 7200 3600 1209600 300"
                : $"{origin} 3600 IN SOA ns.{origin} hostmaster.{origin} 1 7200 3600 1209600 300");
            Add(new ResourceRecord(origin, RRClass.IN, 3600, signer.Dnskey));
            if (origin.IsRoot)
            {
                Add(". 3600 IN NS a.root-servers.net.");
                Add("a.root-servers.net. 3600 IN A 198.41.0.4");
            }
        }

        public DnsName Origin { get; }
        public Signer Signer { get; }
        public List<ResourceRecord> Records { get; } = [];

        public void Add(string line) => Records.Add(RecordText.Parse(line, Root, 3600));

        public void Add(ResourceRecord record) => Records.Add(record);

        public void AddUnsigned(ResourceRecord record) => Records.Add(record);

        public void AddSigned(ResourceRecord record, uint inception, uint expiration)
        {
            Records.Add(record);
            Records.Add(new ResourceRecord(record.Name, RRClass.IN, record.Ttl, Signer.Sign([record], Origin, inception, expiration)));
        }

        public List<ResourceRecord> RRset(DnsName owner, RRType type) => Records.FindAll(r => r.Type == type && r.Name.Equals(owner));

        public List<ResourceRecord> WithSignatures(DnsName owner, RRType type, bool signed = true)
        {
            var set = RRset(owner, type);
            if (signed && set.Count > 0) set.AddRange(Records.Where(r => r.Data is RrsigData s && s.TypeCovered == type && r.Name.Equals(owner)));
            return set;
        }

        /// <summary>Signs every authoritative RRset (not the delegations' NS sets and glue).</summary>
        public void SignAll(uint inception, uint expiration)
        {
            foreach (var set in Records.GroupBy(r => (r.Name, r.Type)).ToList())
            {
                var (owner, type) = set.Key;
                bool delegated = !owner.Equals(Origin) && Records.Exists(r => r.Type == RRType.NS && !r.Name.Equals(Origin) && owner.IsSubdomainOf(r.Name));
                if (delegated && type != RRType.DS) continue;
                Records.Add(new ResourceRecord(owner, RRClass.IN, Ttl(set), Signer.Sign([.. set], Origin, inception, expiration)));
            }
        }

        private static uint Ttl(IEnumerable<ResourceRecord> set) => set.First().Ttl;
    }

    /// <summary>A zone key: ECDSA P-256 (13) or RSA/SHA-256 (8), signing as RFC 4034 §3.1.8.1 says.</summary>
    private sealed class Signer
    {
        private readonly Func<byte[], byte[]> _sign;

        private Signer(DnskeyData key, Func<byte[], byte[]> sign)
        {
            Dnskey = key;
            _sign = sign;
        }

        public DnskeyData Dnskey { get; }

        public static Signer Ecdsa()
        {
            var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var q = ecdsa.ExportParameters(false).Q;
            return new Signer(new DnskeyData(257, 3, 13, [.. q.X!, .. q.Y!]),
                data => ecdsa.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.IeeeP1363FixedFieldConcatenation));
        }

        public static Signer Rsa()
        {
            var rsa = RSA.Create(1024);
            var p = rsa.ExportParameters(false);
            return new Signer(new DnskeyData(257, 3, 8, [(byte)p.Exponent!.Length, .. p.Exponent, .. p.Modulus!]),
                data => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }

        public RrsigData Sign(IReadOnlyList<ResourceRecord> rrset, DnsName zone, uint inception, uint expiration)
        {
            var owner = rrset[0].Name;
            byte labels = (byte)owner.LabelCount;
            var unsigned = new RrsigData(rrset[0].Type, Dnskey.Algorithm, labels, rrset[0].Ttl, expiration, inception, Dnskey.KeyTag, zone, []);
            return new RrsigData(rrset[0].Type, Dnskey.Algorithm, labels, rrset[0].Ttl, expiration, inception, Dnskey.KeyTag, zone,
                _sign(CanonicalForm.SignedData(unsigned, rrset)));
        }

        /// <summary>An ECDSA P-256 zone key (random octets: it is only ever digested) whose key tag is <paramref name="tag"/>.</summary>
        public static DnskeyData FakeEcdsaKeyWithTag(ushort tag, int seed)
        {
            var key = new byte[64];
            new Random(seed).NextBytes(key);
            return WithTag(key, 13, tag);
        }

        /// <summary>
        /// An RSA/SHA-256 zone key that parses (exponent 65537, a random odd 1024-bit modulus) but signs nothing,
        /// with its last two modulus octets chosen so that its key tag is <paramref name="tag"/> (RFC 4034 Appendix B).
        /// </summary>
        public static DnskeyData FakeRsaKeyWithTag(ushort tag, int seed)
        {
            var key = new byte[1 + 3 + 128];
            key[0] = 3;
            key[1] = 0x01; key[2] = 0x00; key[3] = 0x01;
            new Random(seed).NextBytes(key.AsSpan(4));
            key[4] |= 0x80; // a full 1024-bit modulus
            key[^1] |= 1;   // odd
            return WithTag(key, 8, tag);
        }

        /// <summary>A zone key (flags 256) of <paramref name="algorithm"/>, two octets of <paramref name="key"/> set so that its tag is <paramref name="tag"/>.</summary>
        private static DnskeyData WithTag(byte[] key, byte algorithm, ushort tag)
        {
            // Octets -4 and -3 of the key sit at an even RDATA offset (the key's length is even): they form one 16-bit
            // word of the key tag's sum, and some value of it gives any tag.
            key[^4] = key[^3] = 0;
            var rdata = new byte[4 + key.Length];
            rdata[0] = 1; rdata[2] = 3; rdata[3] = algorithm; // flags 256, protocol 3
            key.CopyTo(rdata, 4);
            long sum = 0;
            for (int i = 0; i < rdata.Length; i++) sum += (i & 1) == 0 ? rdata[i] << 8 : rdata[i];
            for (int word = 0; word <= 0xFFFF; word++)
            {
                long total = sum + word;
                if (((total + (total >> 16)) & 0xFFFF) != tag) continue;
                key[^4] = (byte)(word >> 8);
                key[^3] = (byte)word;
                var found = new DnskeyData(256, 3, algorithm, key);
                Assert.Equal(tag, found.KeyTag);
                return found;
            }
            throw new InvalidOperationException($"no key with tag {tag}");
        }
    }

    private static DnsName N(string name) => DnsName.Parse(name);
}
