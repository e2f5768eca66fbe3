using Ananas.Tests.Shared;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Dns.Tests;

public class MessageReaderTests
{
    private static readonly DnsName Www = DnsName.Parse("WWW.Example.com.");

    private static byte[] Query(Action<DnsMessage>? change = null)
    {
        var q = DnsMessage.CreateQuery(0xBEEF, Www, RRType.AAAA, dnssecOk: true);
        q.Edns!.UdpPayloadSize = 1400;
        q.Edns.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8]));
        q.Edns.Options.Add(new ClientSubnetOption(IPAddress.Parse("198.51.100.0"), 24));
        change?.Invoke(q);
        return q.ToArray();
    }

    [Fact]
    public void Reads_header_question_and_opt()
    {
        var wire = Query();
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(wire, name, out var view, out var error));
        Assert.Equal(QueryReadError.None, error);
        Assert.Equal(0xBEEF, view.Header.Id);
        Assert.True(view.Header.Has(HeaderFlags.RD));
        Assert.Equal(Www.Wire.ToArray(), view.Name.ToArray());
        Assert.Equal(3, view.LabelCount);
        Assert.Equal(RRType.AAAA, view.Type);
        Assert.Equal(RRClass.IN, view.Class);
        Assert.Equal(12 + Www.WireLength + 4, view.QuestionEnd);
        Assert.True(view.HasEdns);
        Assert.True(view.DnssecOk);
        Assert.Equal(0, view.EdnsVersion);
        Assert.Equal(1400, view.UdpPayloadSize);
        Assert.True(view.TryGetOption(EdnsOptionCode.Cookie, out var cookie));
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, cookie.ToArray());
        Assert.True(view.TryGetOption(EdnsOptionCode.ClientSubnet, out var ecs));
        Assert.Equal(7, ecs.Length);
        Assert.False(view.TryGetOption(EdnsOptionCode.Padding, out _));
        int count = 0;
        foreach (var _ in view.Options) count++;
        Assert.Equal(2, count);
    }

    [Fact]
    public void Query_without_edns()
    {
        var q = DnsMessage.CreateQuery(1, Www, RRType.A);
        q.Edns = null;
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(q.ToArray(), name, out var view, out _));
        Assert.False(view.HasEdns);
        Assert.True(view.OptionData.IsEmpty);
    }

    [Fact]
    public void Reading_a_query_allocates_nothing()
    {
        var wire = Query();
        var name = new byte[255];
        int calls = 0, found = 0;
        long allocated = AllocationProbe.BytesPerRound(() =>
        {
            calls++;
            if (QueryReader.TryRead(wire, name, out var view, out _) && view.TryGetOption(EdnsOptionCode.Cookie, out _)) found++;
        });
        Assert.Equal(calls, found);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Writing_a_response_into_a_buffer_allocates_nothing()
    {
        var response = DnsMessage.CreateQuery(0x4242, Www, RRType.A, dnssecOk: true).CreateResponse();
        var target = DnsName.Parse("cdn.example.net.");
        response.Answers.Add(new ResourceRecord(Www, 300, NameData.Cname(target)));
        response.Answers.Add(new ResourceRecord(target, 60, new AddressData(IPAddress.Parse("192.0.2.1"))));
        response.Answers.Add(new ResourceRecord(target, 60, new AddressData(IPAddress.Parse("2001:db8::1"))));
        response.Authority.Add(new ResourceRecord(DnsName.Parse("example.net."), 3600,
            new SoaData(DnsName.Parse("ns.example.net."), DnsName.Parse("hostmaster.example.net."), 1, 2, 3, 4, 5)));
        response.Additional.Add(new ResourceRecord(DnsName.Parse("ns.example.net."), 3600, new AddressData(IPAddress.Parse("192.0.2.53"))));
        response.Edns!.Options.Add(new ExtendedErrorOption(EdeCode.StaleAnswer, "stale"));
        response.Edns.Options.Add(new CookieOption([1, 2, 3, 4, 5, 6, 7, 8], new byte[16]));
        response.Edns.Options.Add(new TcpKeepaliveOption(100));
        response.Edns.Options.Add(NsidOption.FromText("ns1"));
        response.Edns.Options.Add(new ClientSubnetOption(IPAddress.Parse("198.51.100.0"), 24, 20));
        response.Edns.Options.Add(PaddingOption.ToBlockSize(PaddingOption.ResponseBlockSize));
        var buffer = new byte[4096];
        int length = 0;
        long allocated = AllocationProbe.BytesPerRound(() => length = response.WriteTo(buffer, 1232));
        Assert.Equal(0, allocated);
        Assert.Equal(468, length);
        Assert.Equal(3, DnsMessage.Parse(buffer.AsSpan(0, length)).Answers.Count);
    }

    private static byte[] Header(ushort qd, ushort an = 0, ushort ns = 0, ushort ar = 0) =>
        [0, 1, 1, 0, (byte)(qd >> 8), (byte)qd, (byte)(an >> 8), (byte)an, (byte)(ns >> 8), (byte)ns, (byte)(ar >> 8), (byte)ar];

    private static readonly byte[] Question = [1, (byte)'a', 0, 0, 1, 0, 1];

    private static readonly byte[] EmptyOpt = [0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0];

    public static TheoryData<string, byte[], QueryReadError> Rejected => new()
    {
        { "short header", [0, 1, 0, 0, 0, 1], QueryReadError.TooShort },
        { "no question", Header(0), QueryReadError.NoQuestion },
        { "two questions", [.. Header(2), .. Question, .. Question], QueryReadError.MultipleQuestions },
        { "pointer loop", [.. Header(1), 0xC0, 12, 0, 1, 0, 1], QueryReadError.BadName },
        { "label past end", [.. Header(1), 5, (byte)'a'], QueryReadError.BadName },
        { "0x40 label type", [.. Header(1), 0x41, 0, 0, 1, 0, 1], QueryReadError.BadName },
        { "qtype cut off", [.. Header(1), 1, (byte)'a', 0, 0], QueryReadError.TruncatedQuestion },
        { "additional record cut off", [.. Header(1, ar: 1), .. Question, 0, 0, 41], QueryReadError.BadRecord },
        { "rdata past end", [.. Header(1, ar: 1), .. Question, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 9, 1], QueryReadError.BadRecord },
        { "two OPT records", [.. Header(1, ar: 2), .. Question, .. EmptyOpt, .. EmptyOpt], QueryReadError.MultipleOpt },
        { "OPT owner not root", [.. Header(1, ar: 1), .. Question, 0xC0, 12, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0], QueryReadError.BadOpt },
        { "OPT in answer section", [.. Header(1, an: 1), .. Question, .. EmptyOpt], QueryReadError.BadOpt },
        { "option framing", [.. Header(1, ar: 1), .. Question, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 5, 0, 10, 0, 8, 1], QueryReadError.BadOpt },
    };

    [Theory]
    [MemberData(nameof(Rejected))]
    public void Malformed_queries_are_rejected_with_a_reason(string why, byte[] wire, QueryReadError expected)
    {
        Span<byte> name = stackalloc byte[255];
        Assert.False(QueryReader.TryRead(wire, name, out _, out var error), why);
        Assert.Equal(expected, error);
    }

    /// <summary>A query for a/A/IN whose OPT record carries one option.</summary>
    private static byte[] WithOption(ushort code, byte[] data) =>
        [.. Header(1, ar: 1), .. Question, 0, 0, 41, 0x10, 0, 0, 0, 0, 0, (byte)((data.Length + 4) >> 8), (byte)(data.Length + 4),
         (byte)(code >> 8), (byte)code, (byte)(data.Length >> 8), (byte)data.Length, .. data];

    public static TheoryData<string, byte[]> MalformedKnownOptions => new()
    {
        { "COOKIE of 0 octets", WithOption(10, []) },
        { "COOKIE of 5 octets", WithOption(10, [1, 2, 3, 4, 5]) },
        { "COOKIE of 41 octets", WithOption(10, new byte[41]) },
        { "Client Subnet shorter than 4 octets", WithOption(8, [0, 1]) },
        { "Client Subnet family 258", WithOption(8, [1, 2, 0, 0]) },
        { "Client Subnet /24 with 4 address octets", WithOption(8, [0, 1, 24, 0, 192, 0, 2, 0]) },
        { "edns-tcp-keepalive of 8 octets", WithOption(11, new byte[8]) },
        { "Extended DNS Error of 1 octet", WithOption(15, [0]) },
    };

    [Theory]
    [MemberData(nameof(MalformedKnownOptions))]
    public void A_known_option_the_full_parser_rejects_is_rejected_by_the_query_reader_with_the_question_kept(string why, byte[] wire)
    {
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire));
        Span<byte> name = stackalloc byte[255];
        Assert.False(QueryReader.TryRead(wire, name, out var view, out var error), why);
        Assert.Equal(QueryReadError.BadOpt, error);
        // The header and question stay readable, so the FORMERR can echo them.
        Assert.Equal(12 + Question.Length, view.QuestionEnd);
        Assert.True(view.QuestionIsLiteral);
        Assert.False(view.HasEdns);
    }

    [Fact]
    public void Well_formed_known_options_are_read()
    {
        byte[] ecs = WithOption(8, [0, 1, 24, 0, 192, 0, 2]);
        byte[] cookie = WithOption(10, [1, 2, 3, 4, 5, 6, 7, 8]);
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(ecs, name, out _, out _));
        Assert.True(QueryReader.TryRead(cookie, name, out var view, out _));
        Assert.True(view.TryGetOption(EdnsOptionCode.Cookie, out var data));
        Assert.Equal(8, data.Length);
    }

    /// <summary>
    /// Found by fuzz/run doh: a DoH GET whose query carries a COOKIE option of 0 octets next to a valid question.
    /// The answer-cache key read it (only the option framing was checked) while the full parser raises FORMERR.
    /// </summary>
    [Fact]
    public void The_fuzzer_found_query_with_an_empty_cookie_is_not_readable_as_a_query()
    {
        var wire = Convert.FromHexString(
            "4321011000010000000000010157000081000100002904d000008000000c000a0000000000000000000000000000000000000000000000000000000000000000000002004080c1014181c2");
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire));
        Span<byte> name = stackalloc byte[255];
        Assert.False(QueryReader.TryRead(wire, name, out _, out var error));
        Assert.Equal(QueryReadError.BadOpt, error);
    }

    [Fact]
    public void A_question_pointing_into_the_header_is_read_but_not_literal()
    {
        // Offset 12 points at offset 11 (ARCOUNT's low octet, 0): the root name, made of a header octet. The full
        // parser accepts it, but a reply cannot copy the question's octets, so QueryShape and the cache refuse it.
        byte[] wire = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 11, 0, 1, 0, 1];
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(wire, name, out var view, out _));
        Assert.Equal(1, view.Name.Length);
        Assert.False(view.QuestionIsLiteral);
    }

    [Fact]
    public void Records_before_the_opt_are_skipped()
    {
        // A NOTIFY-like query with one answer record whose owner is compressed.
        byte[] wire = [.. Header(1, an: 1, ar: 1), .. Question, 0xC0, 12, 0, 6, 0, 1, 0, 0, 0, 60, 0, 2, 0xAA, 0xBB, .. EmptyOpt];
        Span<byte> name = stackalloc byte[255];
        Assert.True(QueryReader.TryRead(wire, name, out var view, out _));
        Assert.True(view.HasEdns);
        Assert.Equal(0x1000, view.UdpPayloadSize);
    }

    [Fact]
    public void A_name_buffer_below_255_octets_is_an_error_not_an_overrun()
    {
        Span<byte> name = stackalloc byte[16];
        Assert.False(QueryReader.TryRead(Query(), name, out _, out var error));
        Assert.Equal(QueryReadError.BadName, error);
    }
}
