using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Dns.Tests;

public class DnsMessageTests
{
    private static DnsMessage SampleResponse()
    {
        var q = DnsMessage.CreateQuery(0x1234, DnsName.Parse("www.example.com."), RRType.A);
        var r = q.CreateResponse();
        r.Set(HeaderFlags.RA);
        var owner = DnsName.Parse("www.example.com.");
        r.Answers.Add(new ResourceRecord(owner, 300, new AddressData(IPAddress.Parse("192.0.2.1"))));
        r.Answers.Add(new ResourceRecord(owner, 300, new AddressData(IPAddress.Parse("192.0.2.2"))));
        r.Authority.Add(new ResourceRecord(DnsName.Parse("example.com."), 3600, NameData.Ns(DnsName.Parse("ns1.example.com."))));
        r.Additional.Add(new ResourceRecord(DnsName.Parse("ns1.example.com."), 3600, new AddressData(IPAddress.Parse("2001:db8::53"))));
        return r;
    }

    /// <summary>A response whose second answer is an A record with 3 octets of RDATA (written as an unknown type, then patched to A).</summary>
    private static byte[] ResponseWithShortARecord()
    {
        var r = SampleResponse();
        r.Answers.Insert(1, new ResourceRecord(DnsName.Parse("www.example.com."), 300, new UnknownData((RRType)65280, [3, 4, 5])));
        var wire = r.ToArray();
        for (int i = 12; i < wire.Length - 1; i++)
        {
            if (wire[i] != 0xFF || wire[i + 1] != 0x00) continue;
            wire[i] = 0;
            wire[i + 1] = 1;
            return wire;
        }
        throw new InvalidOperationException("type code not found");
    }

    [Fact]
    public void A_record_of_the_wrong_length_fails_the_strict_parse()
    {
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(ResponseWithShortARecord()));
    }

    [Fact]
    public void The_scrubbing_parse_drops_only_the_record_of_the_wrong_length()
    {
        // Unbound iter_scrub_rr_length: the malformed RR goes, the rest of the message is used.
        var parsed = DnsMessage.Parse(ResponseWithShortARecord(), skipMalformedRecords: true);
        Assert.Equal(["192.0.2.1", "192.0.2.2"], parsed.Answers.Select(a => a.Data.ToString()));
        Assert.Single(parsed.Authority);
        Assert.Single(parsed.Additional);
        Assert.NotNull(parsed.Edns);
    }

    [Fact]
    public void The_scrubbing_parse_still_rejects_broken_framing()
    {
        var wire = ResponseWithShortARecord();
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(wire.AsSpan(0, wire.Length - 20), skipMalformedRecords: true));
    }

    [Fact]
    public void Message_round_trips_through_the_wire()
    {
        var original = SampleResponse();
        var wire = original.ToArray();
        var parsed = DnsMessage.Parse(wire);
        Assert.Equal(original.Id, parsed.Id);
        Assert.Equal(original.Flags, parsed.Flags);
        Assert.Equal(original.Questions, parsed.Questions);
        Assert.Equal(original.Answers, parsed.Answers);
        Assert.Equal(original.Authority, parsed.Authority);
        Assert.Equal(original.Additional, parsed.Additional);
        Assert.NotNull(parsed.Edns);
        Assert.Equal(wire, parsed.ToArray());
    }

    [Fact]
    public void Names_are_compressed()
    {
        var wire = SampleResponse().ToArray();
        // "www.example.com" appears 3 times in question and answers but is spelled out once.
        int occurrences = 0;
        for (int i = 0; i + 3 < wire.Length; i++)
            if (wire[i] == 3 && wire[i + 1] == 'w' && wire[i + 2] == 'w' && wire[i + 3] == 'w') occurrences++;
        Assert.Equal(1, occurrences);
    }

    [Fact]
    public void Truncation_drops_whole_rrsets_and_sets_tc()
    {
        var r = SampleResponse();
        int full = r.ToArray().Length;
        // Room for the header, question, OPT and one A record but not two: the A RRset goes as a whole.
        var parsed = DnsMessage.Parse(r.ToArray(maxSize: full - 60));
        Assert.True(parsed.Has(HeaderFlags.TC));
        Assert.Empty(parsed.Answers);
        Assert.NotNull(parsed.Edns);
    }

    [Fact]
    public void Additional_overflow_does_not_set_tc()
    {
        var r = SampleResponse();
        int full = r.ToArray().Length;
        var parsed = DnsMessage.Parse(r.ToArray(maxSize: full - 10));
        Assert.False(parsed.Has(HeaderFlags.TC));
        Assert.Equal(2, parsed.Answers.Count);
        Assert.Empty(parsed.Additional);
    }

    [Fact]
    public void Extended_rcode_and_ede_travel_in_the_opt_record()
    {
        var r = SampleResponse();
        r.Rcode = Rcode.BadCookie;
        r.Edns!.Options.Add(new ExtendedErrorOption(EdeCode.NoReachableAuthority, "all servers timed out"));
        var parsed = DnsMessage.Parse(r.ToArray());
        Assert.Equal(Rcode.BadCookie, parsed.Rcode);
        var ede = parsed.Edns!.Find<ExtendedErrorOption>();
        Assert.NotNull(ede);
        Assert.Equal(EdeCode.NoReachableAuthority, ede.InfoCode);
        Assert.Equal("all servers timed out", ede.ExtraText);
    }

    [Fact]
    public void Pointer_loops_and_forward_pointers_are_rejected()
    {
        // Header with one question whose name is a pointer to itself (offset 12).
        byte[] loop = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(loop));
        // Forward pointer to offset 20.
        byte[] forward = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 20, 0, 1, 0, 1, 0, 0, 1, (byte)'a', 0];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(forward));
        // Pointer beyond the end.
        byte[] outside = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 0xFF, 0, 1, 0, 1];
        Assert.Throws<DnsFormatException>(() => DnsMessage.Parse(outside));
    }
}
