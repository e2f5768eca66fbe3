using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// A bogus answer from one server of a zone is asked again of the zone's other servers, the sender held off
/// (Unbound's validation blacklist; deckard black_ds, black_ent, black_prime). The signed root delegates example. to
/// ns1..nsN.example., each serving its own copy of the signed zone, some of them tampered with.
/// </summary>
public sealed class BogusServerRetryTests
{
    private const string RootAddress = "198.41.0.4";

    private readonly FakeAuthority _authority = new();
    private readonly VirtualClock _clock = new();
    private readonly Kit.TestKey _rootKey = new Kit.Ed25519Key();
    private readonly Kit.TestKey _exampleKey = new Kit.Ed25519Key();
    private readonly uint _now;
    private readonly DnsName _example = DnsName.Parse("example.");

    public BogusServerRetryTests() => _now = (uint)_clock.UtcNow.ToUnixTimeSeconds();

    /// <summary>The address of nsN.example.</summary>
    private static string Server(int n) => $"192.0.2.{n}";

    /// <summary>Builds the hierarchy with <paramref name="servers"/> servers for example.; returns each one's copy of the zone.</summary>
    private List<FakeZone> Build(int servers)
    {
        var rootLines = new List<string>
        {
            ". 86400 SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400",
            ". NS a.root-servers.net.",
            "a.root-servers.net. A 198.41.0.4",
        };
        var exampleLines = new List<string> { "@ 3600 SOA ns1 hostmaster 1 7200 3600 1209600 300", "www A 192.0.2.80", "mail A 192.0.2.25" };
        for (int n = 1; n <= servers; n++)
        {
            rootLines.Add($"example. NS ns{n}.example.");
            rootLines.Add($"ns{n}.example. A {Server(n)}");
            exampleLines.Add($"@ NS ns{n}");
            exampleLines.Add($"ns{n} A {Server(n)}");
        }
        var root = new FakeZone(".", [.. rootLines]);
        root.Records.Add(new ResourceRecord(DnsName.Root, RRClass.IN, 86400, _rootKey.Dnskey()));
        root.Records.Add(new ResourceRecord(_example, RRClass.IN, 86400, SignedZones.Ds(_example, _exampleKey)));
        SignedZones.Sign(root, _rootKey, _now - 3600, _now + 86400 * 30);
        SignedZones.Serve(_authority, RootAddress, root);
        var copies = new List<FakeZone>();
        for (int n = 1; n <= servers; n++)
        {
            var zone = new FakeZone("example.", [.. exampleLines]);
            zone.Records.Add(new ResourceRecord(_example, RRClass.IN, 3600, _exampleKey.Dnskey()));
            SignedZones.Sign(zone, _exampleKey, _now - 3600, _now + 86400 * 30);
            SignedZones.Serve(_authority, Server(n), zone);
            copies.Add(zone);
        }
        return copies;
    }

    private Recursor Recursor(Limits? limits = null)
    {
        var options = new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse(RootAddress)),
            QnameMinimisation = false,
            UseIPv6 = false,
            Validation = true,
            TrustAnchors = SignedZones.RootAnchor(_rootKey),
            Limits = limits ?? Limits.Default,
        };
        // Servers are asked in NS order, so ns1 (the tampered one in most tests) always goes first.
        return new Recursor(options, _clock, new RecordCache(_clock), new KeepOrderSelector(), new LameServerList(_clock, options.LameHoldDown));
    }

    private async Task<DnsMessage> Ask(Recursor recursor, string name)
    {
        var query = DnsMessage.CreateQuery(4242, DnsName.Parse(name), RRType.A, RRClass.IN, recursionDesired: true, dnssecOk: true);
        return (await recursor.ResolveAsync(new Request(query), _authority)).Message;
    }

    private static ExtendedErrorOption? Ede(DnsMessage m) => m.Edns?.Options.OfType<ExtendedErrorOption>().FirstOrDefault();

    private bool HeldOff(Recursor recursor, int server) => recursor.BogusServers.IsLame(IPAddress.Parse(Server(server)), _example);

    /// <summary>Queries for (name, A) sent to nsN (the log writes names without the final dot).</summary>
    private int Asked(int server, string name) => _authority.Log.Count(line => line == $"{Server(server)} {name} A");

    [Fact]
    public async Task Bogus_answer_from_one_server_and_a_good_one_from_another_is_secure_and_the_sender_is_held_off()
    {
        var zones = Build(servers: 2);
        SignedZones.Tamper(zones[0], "www.example.", RRType.A);
        var recursor = Recursor();

        var m = await Ask(recursor, "www.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Data is AddressData a && a.Address.Equals(IPAddress.Parse("192.0.2.80")));
        Assert.Equal(1, Asked(1, "www.example"));
        Assert.Equal(1, Asked(2, "www.example"));
        Assert.True(HeldOff(recursor, 1));
        Assert.False(HeldOff(recursor, 2));

        // Held off: the next question in the zone goes to the other server only.
        var mail = await Ask(recursor, "mail.example.");
        Assert.True(mail.Has(HeaderFlags.AD));
        Assert.Equal(0, Asked(1, "mail.example"));
        Assert.Equal(1, Asked(2, "mail.example"));

        // For a while only.
        _clock.Advance(recursor.Options.BogusServerHoldDown + TimeSpan.FromSeconds(1));
        Assert.False(HeldOff(recursor, 1));
    }

    [Fact]
    public async Task Bogus_DNSKEY_from_one_server_is_fetched_again_from_another()
    {
        var zones = Build(servers: 2);
        SignedZones.Tamper(zones[0], "example.", RRType.DNSKEY);
        var recursor = Recursor();

        var m = await Ask(recursor, "www.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains($"{Server(2)} example DNSKEY", _authority.Log);
        Assert.True(HeldOff(recursor, 1));
        Assert.False(HeldOff(recursor, 2));
    }

    [Fact]
    public async Task Every_server_bogus_is_servfail_EDE_6_after_each_was_asked_once()
    {
        var zones = Build(servers: 2);
        foreach (var zone in zones) SignedZones.Tamper(zone, "www.example.", RRType.A);
        var recursor = Recursor();

        var m = await Ask(recursor, "www.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m)?.InfoCode);
        // No server is asked twice: once both are held off there is nobody else to ask.
        Assert.Equal(1, Asked(1, "www.example"));
        Assert.Equal(1, Asked(2, "www.example"));
        Assert.True(HeldOff(recursor, 1));
        Assert.True(HeldOff(recursor, 2));
    }

    [Fact]
    public async Task Retries_stop_at_the_limit_with_SERVFAIL_EDE_6_naming_it()
    {
        var zones = Build(servers: 5);
        foreach (var zone in zones) SignedZones.Tamper(zone, "www.example.", RRType.A);
        var recursor = Recursor(Limits.Default with { MaxValidationRetries = 2 });

        var m = await Ask(recursor, "www.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        var ede = Ede(m);
        Assert.Equal(EdeCode.DnssecBogus, ede?.InfoCode);
        Assert.Contains(Limits.Describe("validation retries", 2), ede!.ExtraText);
        // The first answer and two retries: three servers asked, the last two never.
        Assert.Equal(3, Enumerable.Range(1, 5).Count(n => Asked(n, "www.example") == 1));
        Assert.Equal(0, Asked(4, "www.example") + Asked(5, "www.example"));
    }

    [Fact]
    public async Task A_zone_with_one_server_is_not_asked_again()
    {
        var zones = Build(servers: 1);
        SignedZones.Tamper(zones[0], "www.example.", RRType.A);
        var recursor = Recursor();

        var m = await Ask(recursor, "www.example.");

        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m)?.InfoCode);
        Assert.Equal(1, Asked(1, "www.example"));
    }
}
