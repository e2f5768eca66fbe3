using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Tests;

public class WireWriterTests
{
    [Fact]
    public void A_name_is_never_compressed_against_its_own_unfinished_labels()
    {
        // Found by the fuzzer: "x.x." used to compress its suffix "x." against its own first label, whose
        // terminator was not written yet (stale zero bytes made it look like "x."): a pointer to itself.
        var buffer = new byte[64];
        var w = new WireWriter(buffer);
        w.WriteName(DnsName.Parse("x.x."), compressible: true);
        Assert.Equal(new byte[] { 1, (byte)'x', 1, (byte)'x', 0 }, w.Written.ToArray());
    }

    [Fact]
    public void Repeated_labels_in_a_question_round_trip()
    {
        var q = DnsMessage.CreateQuery(1, DnsName.Parse("a.a.a.a."), RRType.A);
        var buffer = new byte[512];
        buffer.AsSpan().Clear();
        int n = q.WriteTo(buffer);
        Assert.Equal(q.Question.Name, DnsMessage.Parse(buffer.AsSpan(0, n)).Question.Name);
    }

    [Fact]
    public void Later_names_still_point_at_earlier_ones()
    {
        var buffer = new byte[64];
        var w = new WireWriter(buffer);
        w.WriteName(DnsName.Parse("example.com."), compressible: true);
        w.WriteName(DnsName.Parse("www.example.com."), compressible: true);
        Assert.Equal(new byte[] { 3, (byte)'w', (byte)'w', (byte)'w', 0xC0, 0 }, w.Written[13..].ToArray());
    }
}
