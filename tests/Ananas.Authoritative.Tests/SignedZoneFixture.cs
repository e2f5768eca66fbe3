using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Signing;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Authoritative.Tests;

/// <summary>A store with a signed zone (keys made by <see cref="KeyTable"/>) and checks that run our validator's code on the answers.</summary>
internal sealed class SignedZoneFixture : IDisposable
{
    public const string Zone = """
        $ORIGIN example.com.
        $TTL 3600
        @            IN SOA ns1 hostmaster 1 7200 3600 1209600 300
        @            IN NS  ns1
        @            IN MX  10 mail
        ns1          IN A   192.0.2.1
        www          IN A   192.0.2.80
        www          IN AAAA 2001:db8::80
        Mixed        IN TXT "case"
        alias        IN CNAME www
        *.wild       IN A   192.0.2.99
        *.wild       IN TXT "wild"
        wc           IN CNAME x.wild
        a.b.ent      IN A   192.0.2.7
        child        IN NS  ns1.child
        child        IN DS  12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE77C4F8A9B0B0F2F9A3B5C1D2
        ns1.child    IN A   192.0.2.53
        plain        IN NS  ns.other.org.
        red          IN DNAME example.net.
        """;

    public const string Unsigned = """
        $ORIGIN example.net.
        $TTL 3600
        @    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
        @    IN NS  ns1
        ns1  IN A   192.0.2.1
        y    IN A   192.0.2.9
        """;

    public static readonly DnsName Apex = DnsName.Parse("example.com.");

    private ushort _id = 1;

    private SignedZoneFixture(StoreFixture store, List<SigningKey> keys)
    {
        Store = store;
        Keys = keys;
    }

    public StoreFixture Store { get; }

    public List<SigningKey> Keys { get; }

    public AuthoritativeAnswerer Answerer => Store.Answerer;

    public static SignedZoneFixture Create(SigningOptions? signing = null, params byte[] algorithms)
    {
        var store = StoreFixture.With(new AuthoritativeOptions { Signing = signing ?? new SigningOptions() }, Zone, Unsigned);
        var keys = new List<SigningKey>();
        foreach (var algorithm in algorithms.Length == 0 ? [SigningKey.EcdsaP256Sha256] : algorithms)
            keys.Add(KeyTable.Generate(store.Store, Apex, algorithm, DateTimeOffset.UtcNow));
        Assert.True(store.Answerer.Refresh(), "the key changed the store's generation");
        return new SignedZoneFixture(store, keys);
    }

    public DnsMessage Ask(string name, RRType type, bool dnssecOk = true, bool compactOk = false)
    {
        var query = DnsMessage.CreateQuery(_id++, DnsName.Parse(name), type, recursionDesired: false, dnssecOk: dnssecOk);
        query.Edns!.UdpPayloadSize = 4096;
        if (compactOk) query.Edns.OtherFlags = (ushort)AuthoritativeAnswerer.CompactOkFlag;
        var reply = new byte[65535];
        int n = Answerer.Answer(query.ToArray(), reply, 4096, out _);
        Assert.True(n > 0, "no reply");
        return DnsMessage.Parse(reply.AsSpan(0, n));
    }

    /// <summary>
    /// Every RRset of the zone in the answer and authority sections carries one RRSIG per key and each verifies with
    /// the resolver's <see cref="SignatureVerifier"/>; except the NS of a referral and a CNAME made from a DNAME,
    /// which must carry none. Returns the RRsets checked.
    /// </summary>
    public int AssertSigned(DnsMessage m)
    {
        int checkedSets = 0;
        foreach (var section in new[] { m.Answers, m.Authority })
        {
            foreach (var group in section.Where(r => r.Type != RRType.RRSIG && r.Name.IsSubdomainOf(Apex)).GroupBy(r => (r.Name.ToLowerCase().ToString(), r.Type)))
            {
                var rrset = group.ToList();
                var owner = rrset[0].Name;
                var sigs = section.Where(r => r.Data is RrsigData s && s.TypeCovered == group.Key.Type && r.Name.Equals(owner)).Select(r => (RrsigData)r.Data).ToList();
                bool referralNs = section == m.Authority && group.Key.Type == RRType.NS && !owner.Equals(Apex);
                bool fromDname = group.Key.Type == RRType.CNAME && m.Answers.Any(r => r.Type == RRType.DNAME && owner.IsStrictSubdomainOf(r.Name));
                if (referralNs || fromDname)
                {
                    Assert.True(sigs.Count == 0, $"{owner} {group.Key.Type} must not be signed");
                    continue;
                }
                Assert.True(sigs.Count == Keys.Count, $"{owner} {group.Key.Type}: {sigs.Count} RRSIGs for {Keys.Count} keys");
                foreach (var sig in sigs)
                {
                    var key = Keys.Single(k => k.KeyTag == sig.KeyTag).Dnskey;
                    Assert.Equal(SignatureResult.Valid, SignatureVerifier.Default.Verify(key, sig, rrset));
                    Assert.True(sig.SignerName.Equals(Apex));
                }
                checkedSets++;
            }
        }
        return checkedSets;
    }

    public static NsecData SingleNsec(DnsMessage m, out ResourceRecord record)
    {
        record = Assert.Single(m.Authority, r => r.Type == RRType.NSEC);
        return (NsecData)record.Data;
    }

    public void Dispose() => Store.Dispose();
}
