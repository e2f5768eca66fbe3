using Ananas.Dns;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>RFC 8509 root key sentinel names against the built-in root anchors (KSK-2017 20326, KSK-2024 38696).</summary>
public sealed class KeySentinelTests
{
    [Theory]
    [InlineData("root-key-sentinel-is-ta-20326.example.", false)]   // trusted: answered as usual
    [InlineData("root-key-sentinel-is-ta-38696.example.", false)]
    [InlineData("root-key-sentinel-is-ta-12345.example.", true)]    // not a trust anchor here: SERVFAIL
    [InlineData("root-key-sentinel-not-ta-20326.example.", true)]   // it is one: SERVFAIL
    [InlineData("root-key-sentinel-not-ta-12345.example.", false)]
    [InlineData("ROOT-KEY-SENTINEL-NOT-TA-20326.example.", true)]   // labels compare without case
    [InlineData("root-key-sentinel-is-ta-2032.example.", false)]    // not five digits: an ordinary name
    [InlineData("root-key-sentinel-is-ta-2032x.example.", false)]
    [InlineData("www.root-key-sentinel-is-ta-12345.example.", false)] // only the leftmost label counts
    [InlineData("example.", false)]
    public void Sentinel_names_fail_when_they_contradict_the_root_anchors(string name, bool fails)
    {
        var failure = KeySentinel.Failure(DnsName.Parse(name), TrustAnchors.CreateDefault());
        Assert.Equal(fails, failure is not null);
        if (fails) Assert.Contains("RFC 8509", failure);
    }

    [Fact]
    public void Without_a_root_anchor_nothing_is_a_trust_anchor()
    {
        var anchors = new TrustAnchors();
        Assert.NotNull(KeySentinel.Failure(DnsName.Parse("root-key-sentinel-is-ta-20326.example."), anchors));
        Assert.Null(KeySentinel.Failure(DnsName.Parse("root-key-sentinel-not-ta-20326.example."), anchors));
    }
}
