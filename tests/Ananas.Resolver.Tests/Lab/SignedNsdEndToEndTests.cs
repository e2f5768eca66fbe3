using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Tests.Lab;

/// <summary>
/// The validating recursor, through the real conductor, against zones signed by ldns-signzone and served by NSD on
/// loopback (<see cref="SignedNsdHierarchy"/>). One hierarchy for all cases: keys and signing take a few seconds.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection("Loopback sockets")]
public sealed class SignedNsdEndToEndTests : IAsyncLifetime
{
    private SignedNsdHierarchy? _lab;
    private Resolver.Conductor.Conductor? _conductor;
    private Recursor? _recursor;

    public async Task InitializeAsync()
    {
        if (SignedNsdHierarchy.MissingTools() is not null) return;
        _lab = await SignedNsdHierarchy.StartAsync(TimeSpan.FromSeconds(10));
        var options = new RecursorOptions
        {
            RootHints = RootHints.Parse($".  3600000 NS a.root.\na.root. 3600000 A {_lab.RootAddress}\n"),
            DoNotQueryLocalhost = false,
            UseIPv6 = false,
            Validation = true,
            TrustAnchors = _lab.TrustAnchors,
        };
        var infrastructure = new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance);
        _conductor = new Resolver.Conductor.Conductor(new Resolver.Conductor.ConductorOptions(), infrastructure);
        _recursor = new Recursor(options, SystemClock.Instance, new RecordCache(SystemClock.Instance),
            _conductor.CreateSelector(SecureRandom.Instance), new LameServerList(SystemClock.Instance, options.LameHoldDown));
    }

    public async Task DisposeAsync()
    {
        _conductor?.Dispose();
        if (_lab is not null) await _lab.DisposeAsync();
    }

    private async Task<DnsMessage> Ask(string name, RRType type = RRType.A)
    {
        Assert.True(_lab is not null, SignedNsdHierarchy.MissingTools());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), type, RRClass.IN, recursionDesired: true, dnssecOk: true);
        return (await _recursor!.ResolveAsync(new Request(query), _conductor!, timeout.Token)).Message;
    }

    private static EdeCode? Ede(DnsMessage m) => m.Edns?.Options.OfType<ExtendedErrorOption>().Select(o => (EdeCode?)o.InfoCode).FirstOrDefault();

    private static void AssertWww(DnsMessage m)
    {
        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.Contains(m.Answers, r => r.Type == RRType.A && r.Data.ToString() == SignedNsdHierarchy.WwwAddress);
    }

    [Fact]
    public async Task Secure_zone_answers_with_AD()
    {
        var m = await Ask("www.secure.");
        AssertWww(m);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Type == RRType.RRSIG);
        // Its denials are proven too (NSEC from ldns-signzone).
        var missing = await Ask("nothing.secure.");
        Assert.Equal(Rcode.NXDomain, missing.Rcode);
        Assert.True(missing.Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task Insecure_delegation_answers_without_AD()
    {
        var m = await Ask("www.insecure.");
        AssertWww(m);
        Assert.False(m.Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task Tampered_signature_is_servfail_with_EDE_6()
    {
        var m = await Ask("www.tampered.");
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, Ede(m));
        Assert.Empty(m.Answers);
    }

    [Fact]
    public async Task Expired_signatures_are_servfail_with_EDE_7()
    {
        var m = await Ask("www.expired.");
        Assert.Equal(Rcode.ServFail, m.Rcode);
        Assert.Equal(EdeCode.SignatureExpired, Ede(m));
    }

    [Fact]
    public async Task Ed25519_zone_answers_with_AD()
    {
        var m = await Ask("www.ed.");
        AssertWww(m);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Data is Dns.Records.RrsigData { Algorithm: 15 });
    }

    [Fact]
    public async Task Nsec3_opt_out_zone_is_secure_itself_and_insecure_below_its_unsigned_delegation()
    {
        var signed = await Ask("www.optout.");
        AssertWww(signed);
        Assert.True(signed.Has(HeaderFlags.AD));
        // The unsigned delegation has no DS; only an opt-out NSEC3 span covers it: insecure, no AD.
        var unsigned = await Ask("www.unsigned.optout.");
        AssertWww(unsigned);
        Assert.False(unsigned.Has(HeaderFlags.AD));
        // A name that does not exist in the opt-out zone: NXDOMAIN, and the opt-out span makes it insecure.
        var missing = await Ask("nothing.optout.");
        Assert.Equal(Rcode.NXDomain, missing.Rcode);
    }
}
