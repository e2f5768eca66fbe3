using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using Ananas.Server.Protection;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>
/// Response rate limiting on UDP and DNS Cookies (issue 15, gap 10): SipHash-2-4 and RFC 9018's server cookies against
/// their published vectors, limits and slips over loopback, the cookie exemption, BADCOOKIE, and the table bound.
/// </summary>
public sealed class RateLimitAndCookieTests
{
    private static FakeAuthority World() => new("www.example.test. 300 A 192.0.2.1", "other.example.test. 300 A 192.0.2.2");

    [Fact]
    public void SipHash_2_4_matches_the_reference_vectors()
    {
        var key = Enumerable.Range(0, 16).Select(i => (byte)i).ToArray();
        Assert.Equal(0x726fdb47dd0e0e31UL, SipHash.Hash(key, []));
        Assert.Equal(0xa129ca6149be45e5UL, SipHash.Hash(key, Enumerable.Range(0, 15).Select(i => (byte)i).ToArray()));
        Assert.Equal(0x93f5f5799a932462UL, SipHash.Hash(key, Enumerable.Range(0, 8).Select(i => (byte)i).ToArray()));
    }

    [Theory]
    // RFC 9018 Appendix A.1 and A.2: the same client learning a server cookie, then a renewed one.
    [InlineData("2464c4abcf10c957", "198.51.100.100", 1559731985u, "010000005cf79f111f8130c3eee29480")]
    [InlineData("2464c4abcf10c957", "198.51.100.100", 1559734385u, "010000005cf7a871d4a564a1442aca77")]
    public void Server_cookies_are_those_of_rfc_9018(string clientCookie, string address, uint timestamp, string expected)
    {
        var cookies = new ServerCookies(Convert.FromHexString("e5e973e5a6b2a43f48e7dc849e37bfcf"), now: () => timestamp);
        var server = new byte[16];
        cookies.WriteServerCookie(server, Convert.FromHexString(clientCookie), ClientAddress.From(new IPEndPoint(IPAddress.Parse(address), 53)), timestamp);
        Assert.Equal(expected, Convert.ToHexString(server).ToLowerInvariant());
    }

    [Fact]
    public void A_server_cookie_is_valid_for_its_client_for_an_hour_and_across_one_rotation_only()
    {
        uint now = 1_700_000_000;
        var cookies = new ServerCookies(now: () => now);
        var client = ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.7"), 1));
        var other = ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.8"), 1));
        byte[] clientCookie = [9, 8, 7, 6, 5, 4, 3, 2];
        var server = new byte[16];
        cookies.WriteServerCookie(server, clientCookie, client, now);

        CookieStatus Check(ClientAddress from, byte[] serverCookie)
        {
            var query = DnsTestClient.Query("www.example.test", udpPayload: 1232);
            query.Edns!.Options.Add(new CookieOption(clientCookie, serverCookie));
            var wire = query.ToArray();
            return cookies.Check(wire, QueryShape.Read(wire), from, new byte[8]);
        }

        Assert.Equal(CookieStatus.Valid, Check(client, server));
        Assert.Equal(CookieStatus.Invalid, Check(other, server));
        var tampered = (byte[])server.Clone();
        tampered[15] ^= 1;
        Assert.Equal(CookieStatus.Invalid, Check(client, tampered));
        now += 3000;
        Assert.Equal(CookieStatus.Valid, Check(client, server));
        cookies.Rotate();
        Assert.Equal(CookieStatus.Valid, Check(client, server));
        cookies.Rotate();
        Assert.Equal(CookieStatus.Invalid, Check(client, server));
        cookies.WriteServerCookie(server, clientCookie, client, now);
        now += 3601;
        Assert.Equal(CookieStatus.Invalid, Check(client, server));
    }

    /// <summary>
    /// Sends <paramref name="queries"/> from <paramref name="source"/> at once; the replies, read until every query
    /// is accounted for (answered or counted as dropped by the limiter), so a host too loaded to answer at an even
    /// pace still has its whole burst read. Bounded by 10 s.
    /// </summary>
    private static async Task<List<DnsMessage>> BurstAsync(TestServer server, IPAddress source, IEnumerable<DnsMessage> queries)
    {
        using var client = new UdpClient(new IPEndPoint(source, 0));
        long droppedBefore = server.Pipeline.Counters.RrlDroppedCount;
        int sent = 0;
        foreach (var query in queries)
        {
            await client.SendAsync(query.ToArray(), server.Udp.LocalEndPoint);
            sent++;
        }
        var replies = new List<DnsMessage>();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (replies.Count + server.Pipeline.Counters.RrlDroppedCount - droppedBefore < sent)
        {
            // A drop is counted without a datagram: wake now and then to see it.
            using var poll = CancellationTokenSource.CreateLinkedTokenSource(bound.Token);
            poll.CancelAfter(TimeSpan.FromMilliseconds(100));
            try
            {
                replies.Add(DnsMessage.Parse((await client.ReceiveAsync(poll.Token)).Buffer));
            }
            catch (OperationCanceledException) when (!bound.IsCancellationRequested)
            {
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        return replies;
    }

    private static IEnumerable<DnsMessage> Same(string name, int count, byte[]? clientCookie = null, byte[]? serverCookie = null)
    {
        for (int i = 0; i < count; i++)
        {
            var query = DnsTestClient.Query(name, id: (ushort)(i + 1), udpPayload: 1232);
            if (clientCookie is not null) query.Edns!.Options.Add(new CookieOption(clientCookie, serverCookie ?? []));
            yield return query;
        }
    }

    [Fact]
    public async Task Repeated_answers_to_one_network_are_limited_with_every_second_one_slipping_truncated_while_other_networks_are_answered()
    {
        await using var server = new TestServer(World());
        // The limiter's clock stands still during the bursts: how many are answered depends on the bucket, not on
        // how fast a loaded host gets through 60 queries.
        long now = Stopwatch.GetTimestamp();
        server.Pipeline.RateLimiter = new ResponseRateLimiter(new RrlOptions { ResponsesPerSecond = 5, Slip = 2 }, () => Volatile.Read(ref now));
        var udp = server.Udp.LocalEndPoint;
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 99)); // cached (and charged to 127.0.0.0/24)

        var replies = await BurstAsync(server, IPAddress.Parse("127.0.0.1"), Same("www.example.test", 60));
        int full = replies.Count(r => r.Answers.Count == 1);
        int truncated = replies.Count(r => r.Has(HeaderFlags.TC) && r.Answers.Count == 0);
        Assert.Equal(4, full); // the bucket (5) less the first query's answer
        Assert.Equal(28, truncated); // every second one of the 56 limited
        Assert.Equal(32, replies.Count);
        Assert.Equal(28, server.Pipeline.Counters.RrlDroppedCount);

        // Another name, and another network, have their own buckets.
        Assert.Single((await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("other.example.test", id: 100))).Answers);
        var elsewhere = await BurstAsync(server, IPAddress.Parse("127.0.9.1"), Same("www.example.test", 4));
        Assert.Equal(4, elsewhere.Count(r => r.Answers.Count == 1));

        // A bucket left alone refills: after a second, answers again.
        Interlocked.Add(ref now, (long)(1.1 * Stopwatch.Frequency));
        Assert.Single((await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 101))).Answers);
    }

    [Fact]
    public async Task A_client_with_a_valid_server_cookie_is_exempt_and_one_without_gets_badcookie_slips_carrying_a_fresh_cookie()
    {
        await using var server = new TestServer(World());
        long now = Stopwatch.GetTimestamp(); // the limiter's clock stands still: the bucket's refill is not measured here
        server.Pipeline.RateLimiter = new ResponseRateLimiter(new RrlOptions { ResponsesPerSecond = 2, Slip = 1 }, () => Volatile.Read(ref now));
        server.Pipeline.Cookies = new ServerCookies();
        var udp = server.Udp.LocalEndPoint;
        byte[] clientCookie = [1, 2, 3, 4, 5, 6, 7, 8];
        await DnsTestClient.UdpAsync(udp, DnsTestClient.Query("www.example.test", id: 99)); // cached, from 127.0.0.1

        // Learning the server cookie (RFC 7873 §5.3): a client cookie alone gets the answer and our cookie.
        var first = await BurstAsync(server, IPAddress.Parse("127.0.4.1"), Same("www.example.test", 1, clientCookie));
        var cookie = Assert.Single(first).Edns!.Find<CookieOption>()!;
        Assert.Equal(clientCookie, cookie.ClientCookie.ToArray());
        Assert.Equal(16, cookie.ServerCookie.Length);
        Assert.Equal(1, cookie.ServerCookie[0]); // RFC 9018 version 1

        // Echoing it: every answer, far beyond the limit, each with the cookie again.
        var proven = await BurstAsync(server, IPAddress.Parse("127.0.4.1"), Same("www.example.test", 30, clientCookie, cookie.ServerCookie.ToArray()));
        Assert.Equal(30, proven.Count(r => r.Answers.Count == 1 && r.Edns?.Find<CookieOption>() is { HasServerCookie: true }));

        // The same address without the server cookie is limited; its slips are BADCOOKIE with a fresh cookie to retry with.
        var unproven = await BurstAsync(server, IPAddress.Parse("127.0.4.1"), Same("www.example.test", 10, clientCookie));
        var badCookies = unproven.Where(r => r.Rcode == Rcode.BadCookie).ToList();
        Assert.InRange(badCookies.Count, 6, 10);
        Assert.All(badCookies, r => Assert.Equal(16, r.Edns!.Find<CookieOption>()!.ServerCookie.Length));
        Assert.True(server.Pipeline.Counters.BadCookieCount >= 6);

        // A forged server cookie proves nothing.
        var forged = await BurstAsync(server, IPAddress.Parse("127.0.4.1"), Same("www.example.test", 10, clientCookie, new byte[16]));
        Assert.True(forged.Count(r => r.Answers.Count == 1) <= 3);
    }

    [Fact]
    public async Task A_malformed_cookie_option_gets_formerr()
    {
        await using var server = new TestServer(World());
        server.Pipeline.Cookies = new ServerCookies();
        var query = DnsTestClient.Query("www.example.test", id: 7, udpPayload: 1232).ToArray();
        // Append a 5-octet COOKIE option to the OPT record (the last record: RDLENGTH is its last two octets).
        var malformed = query.Concat(new byte[] { 0, 10, 0, 5, 1, 2, 3, 4, 5 }).ToArray();
        malformed[query.Length - 1] = 9;
        var reply = await DnsTestClient.UdpRawAsync(server.Udp.LocalEndPoint, malformed);
        Assert.NotNull(reply);
        Assert.Equal(Rcode.FormErr, (Rcode)(reply[3] & 0x0F));
        Assert.Equal(7, reply[1]);
    }

    [Fact]
    public void The_rate_limit_table_stays_at_its_size_under_a_flood_of_distinct_keys_and_counts_what_it_evicts()
    {
        long now = 0;
        var limiter = new ResponseRateLimiter(new RrlOptions { TableSize = 1024, ResponsesPerSecond = 1, Slip = 0 }, () => now);
        var client = ClientAddress.From(new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1));
        var buffer = new byte[512];
        int Reply(string name)
        {
            var response = DnsMessage.CreateQuery(1, DnsName.Parse(name), RRType.A).CreateResponse();
            response.Answers.Add(Ananas.Dns.Zones.RecordText.Parse($"{name} 300 A 192.0.2.1", DnsName.Root));
            return response.WriteTo(buffer);
        }

        int victim = Reply("victim.example.");
        Assert.Equal(RrlVerdict.Send, limiter.Decide(client, buffer.AsSpan(0, victim)));
        Assert.Equal(RrlVerdict.Drop, limiter.Decide(client, buffer.AsSpan(0, victim)));
        for (int i = 0; i < 100_000; i++)
        {
            now += 1;
            int n = Reply($"n{i}.example.");
            limiter.Decide(client, buffer.AsSpan(0, n));
        }
        Assert.Equal(1024, limiter.Capacity);
        Assert.True(limiter.Evictions > 90_000, $"{limiter.Evictions} evictions");
        // Expiry: a second later every bucket is full again.
        now += Stopwatch.Frequency;
        victim = Reply("victim.example.");
        Assert.Equal(RrlVerdict.Send, limiter.Decide(client, buffer.AsSpan(0, victim)));
    }

    [Fact]
    public void Rrl_and_cookies_are_off_by_default_and_their_keys_are_checked()
    {
        var defaults = ConfigLoader.Defaults();
        Assert.False(defaults.RrlEnabled);
        Assert.False(defaults.CookiesEnabled);
        var config = ConfigLoader.Apply(defaults, """
            [rrl]
            enabled = true
            responses-per-second = 7
            slip = 3
            exempt = ["192.0.2.0/24"]
            [cookies]
            enabled = true
            secret = "e5e973e5a6b2a43f48e7dc849e37bfcf"
            rotation = "12h"
            """, "t.toml");
        Assert.True(config.RrlEnabled);
        Assert.Equal(7, config.RrlResponsesPerSecond);
        Assert.Equal(3, config.RrlSlip);
        Assert.Equal(TimeSpan.FromHours(12), config.CookieRotation);
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Apply(defaults, "[cookies]\nsecret = \"abc\"\n[rrl]\nslip = 11\ntable-size = 10\nexempt = [\"nope\"]\n", "t.toml"));
        Assert.Contains("cookies.secret", e.Message);
        Assert.Contains("rrl.slip", e.Message);
        Assert.Contains("rrl.table-size", e.Message);
        Assert.Contains("rrl.exempt[0]", e.Message);
    }

    /// <summary>BIND's dig sends a client cookie, checks the server cookie it gets, and sends it back on the next query.</summary>
    [FactWhenInstalled("dig", "dnsutils")]
    public async Task Dig_accepts_our_server_cookie()
    {
        await using var server = new TestServer(World());
        server.Pipeline.Cookies = new ServerCookies();
        var dig = EncryptedTransportTests.Tool("dig")!;
        var output = await EncryptedTransportTests.RunAsync(dig, $"@127.0.0.1 -p {server.Udp.LocalEndPoint.Port} +cookie +tries=1 +time=5 www.example.test A");
        Assert.Contains("status: NOERROR", output);
        Assert.Matches(@"COOKIE: [0-9a-f]{16}[0-9a-f]{32} \(good\)", output);
    }
}
