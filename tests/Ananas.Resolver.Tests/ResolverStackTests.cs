using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

public sealed class ResolverStackTests
{
    [Fact]
    public void The_recursor_s_record_cache_is_sized_from_the_same_options()
    {
        var options = new RecursorOptions
        {
            MaxCacheTtl = TimeSpan.FromHours(2),
            ServeStale = new ServeStaleOptions { Enabled = true, MaxStale = TimeSpan.FromHours(6) },
        };
        var stack = ResolverStack.Create(options, new VirtualClock(), new KeepOrderSelector());
        Assert.Same(options, stack.Recursor.Options);
        Assert.Same(stack.Records, stack.Recursor.Cache);
        Assert.Equal(RecordCacheOptions.For(options), stack.Records.Options);
        Assert.Equal(TimeSpan.FromHours(6), stack.Records.Options.StaleRetention);
    }

    [Fact]
    public void A_reconfigured_stack_has_a_new_recursor_over_the_same_caches()
    {
        var stack = ResolverStack.Create(new RecursorOptions(), new VirtualClock(), new KeepOrderSelector());
        var next = stack.Reconfigure(new RecursorOptions { QnameMinimisation = false });
        Assert.NotSame(stack.Recursor, next.Recursor);
        Assert.False(next.Recursor.Options.QnameMinimisation);
        Assert.Same(stack.Records, next.Recursor.Cache);
        Assert.Same(stack.Lame, next.Lame);
    }

    /// <summary>A validated (AD) answer for <paramref name="name"/> in <paramref name="cache"/>, as the server stores it.</summary>
    private static byte[] StoreSecureAnswer(AnswerCache cache, string name)
    {
        var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), RRType.A, dnssecOk: true);
        var response = query.CreateResponse();
        response.Set(HeaderFlags.RA);
        response.Set(HeaderFlags.AD);
        response.Answers.Add(new ResourceRecord(DnsName.Parse(name), 300, new AddressData(IPAddress.Parse("192.0.2.1"))));
        var wire = query.ToArray();
        Assert.True(cache.Store(wire, response.ToArray()));
        return wire;
    }

    [Fact]
    public void A_reload_that_adds_or_removes_a_negative_trust_anchor_drops_the_encoded_answers_below_it()
    {
        var clock = new VirtualClock();
        var answers = new AnswerCache(new AnswerCacheOptions(), clock);
        var buffer = new byte[4096];
        var stack = ResolverStack.Create(new RecursorOptions(), clock, new KeepOrderSelector());
        var www = StoreSecureAnswer(answers, "www.example.");
        var other = StoreSecureAnswer(answers, "www.other.");

        // Added: the AD answer below it must not be sent again (RFC 7646 §2: no AD under a negative anchor).
        stack = stack.Reconfigure(new RecursorOptions { NegativeTrustAnchors = [DnsName.Parse("example.")] }, answers);
        Assert.False(answers.TryAnswer(www, buffer, out _));
        Assert.True(answers.TryAnswer(other, buffer, out _));

        // Unchanged: nothing dropped.
        www = StoreSecureAnswer(answers, "www.example.");
        stack = stack.Reconfigure(new RecursorOptions { NegativeTrustAnchors = [DnsName.Parse("example.")] }, answers);
        Assert.True(answers.TryAnswer(www, buffer, out _));

        // Removed (here held by the trust anchors themselves, as the server's configuration puts it): dropped again.
        var anchors = Ananas.Resolver.Dnssec.TrustAnchors.CreateDefault();
        anchors.AddNegative(DnsName.Parse("other."));
        stack.Reconfigure(new RecursorOptions { TrustAnchors = anchors }, answers);
        Assert.False(answers.TryAnswer(www, buffer, out _));
        Assert.False(answers.TryAnswer(other, buffer, out _));
    }
}
