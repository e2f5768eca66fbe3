using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// SVCB (64) and HTTPS (65) answers (RFC 9460) are validated, cached and served again with their signatures; RDATA
/// that breaks RFC 9460's rules is kept as opaque data (RFC 3597), whose wire form is its canonical form (§7).
/// </summary>
public sealed class ServiceBindingTests : SignedHierarchyTests
{
    private async Task AssertSecureTwice(string name, RRType type, RData expected)
    {
        var recursor = Recursor();
        int queries = 0;
        for (int i = 0; i < 2; i++)
        {
            var m = await Ask(recursor, name, type);
            Assert.Equal(Rcode.NoError, m.Rcode);
            Assert.True(m.Has(HeaderFlags.AD));
            var record = Assert.Single(m.Answers, r => r.Type == type);
            Assert.Equal(expected.ToCanonicalWire(), record.Data.ToCanonicalWire());
            Assert.Contains(m.Answers, r => r.Data is RrsigData s && s.TypeCovered == type);
            if (i == 0) queries = _authority.Queries.Count;
        }
        Assert.Equal(queries, _authority.Queries.Count);
    }

    [Fact]
    public async Task A_signed_HTTPS_RRset_is_answered_with_AD_and_again_from_the_cache()
    {
        var https = Ananas.Dns.Zones.RecordText.Parse("svc.example. 300 IN HTTPS 1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.7", DnsName.Root, 300);
        Script("svc.example.", [https], []);
        await AssertSecureTwice("svc.example.", RRType.HTTPS, https.Data);
    }

    [Fact]
    public async Task A_signed_SVCB_RRset_in_alias_mode_is_answered_with_AD_and_again_from_the_cache()
    {
        var svcb = Ananas.Dns.Zones.RecordText.Parse("_dns.example. 300 IN SVCB 0 Pool.Example.", DnsName.Root, 300);
        Script("_dns.example.", [svcb], []);
        await AssertSecureTwice("_dns.example.", RRType.SVCB, svcb.Data);
    }

    [Fact]
    public async Task A_signed_HTTPS_record_whose_parameters_break_RFC_9460_passes_through_as_opaque_data_with_AD()
    {
        // Priority 1, target ".", then port (3) before alpn (1): keys out of order, which RFC 9460 §2.2 forbids.
        byte[] rdata = [0, 1, 0, 0, 3, 0, 2, 0x20, 0xfb, 0, 1, 0, 3, 2, (byte)'h', (byte)'2'];
        var https = new ResourceRecord(N("odd.example."), RRClass.IN, 300, new UnknownData(RRType.HTTPS, rdata));
        Script("odd.example.", [https], []);
        await AssertSecureTwice("odd.example.", RRType.HTTPS, https.Data);
    }
}
