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
