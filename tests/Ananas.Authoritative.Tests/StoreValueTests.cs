using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// How the answer path reads what the store holds: the zone index's longest match over apexes of every depth,
/// and node values read as MessagePack by any writer (every integer width) while anything malformed is SERVFAIL.
/// </summary>
public sealed class StoreValueTests
{
    [Fact]
    public void The_zone_index_finds_the_longest_apex_whatever_the_depths_of_the_other_apexes()
    {
        using var store = StoreFixture.With(
            "$ORIGIN .\n@ 60 IN SOA ns.root h 1 2 3 4 5\n@ 60 IN NS ns.root\n",
            "$ORIGIN example.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n",
            "$ORIGIN a.b.c.example.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.4\n");
        var index = store.Answerer.Zones;
        (string Apex, int Offset)? Find(string name)
        {
            var wire = DnsName.Parse(name).Wire;
            var zone = index.Find(wire, out int offset);
            return zone is null ? null : (zone.Apex.ToString(), offset);
        }
        Assert.Equal(("a.b.c.example.", 2), Find("x.a.b.c.example."));
        Assert.Equal(("a.b.c.example.", 0), Find("a.b.c.example."));
        Assert.Equal(("example.", 6), Find("x.b.c.example.")); // b.c.example. and c.example. are no zones
        Assert.Equal(("example.", 0), Find("example."));
        Assert.Equal((".", 6), Find("other."));
        Assert.Equal((".", 0), Find("."));
        var parent = index.FindParentSide(DnsName.Parse("a.b.c.example.").Wire, out int parentOffset);
        Assert.Equal(("example.", 6), (parent!.Apex.ToString(), parentOffset));
    }

    [Fact]
    public void Without_a_root_zone_a_name_under_no_apex_is_in_no_zone()
    {
        using var store = StoreFixture.With("$ORIGIN deep.zone.example.\n@ 60 IN SOA ns h 1 2 3 4 5\n@ 60 IN NS ns\nns 60 IN A 192.0.2.1\n");
        var index = store.Answerer.Zones;
        Assert.Null(index.Find(DnsName.Parse("zone.example.").Wire, out int offset));
        Assert.Equal(-1, offset);
        Assert.Null(index.Find(DnsName.Parse("x.other.zone.example.").Wire, out _));
        Assert.NotNull(index.Find(DnsName.Parse("a.b.c.d.e.f.deep.zone.example.").Wire, out offset));
        Assert.Equal(12, offset);
    }

    /// <summary>
    /// A node value for www.example.com. with one A record, written with the integer widths given: a MessagePack
    /// writer may pick any encoding that holds the value, and the reader must take each.
    /// </summary>
    [Theory]
    [InlineData(new byte[] { 0x01 }, new byte[] { 0xcd, 0x0e, 0x10 })]             // type fixint, TTL uint16 (as ours)
    [InlineData(new byte[] { 0xcd, 0x00, 0x01 }, new byte[] { 0xce, 0x00, 0x00, 0x0e, 0x10 })] // uint16 type, uint32 TTL
    [InlineData(new byte[] { 0xd0, 0x01 }, new byte[] { 0xd3, 0, 0, 0, 0, 0, 0, 0x0e, 0x10 })] // int8 type, int64 TTL
    public void A_node_value_is_read_whatever_integer_width_its_writer_chose(byte[] type, byte[] ttl)
    {
        using var store = StoreFixture.With(StoreFixture.ExampleZone);
        byte[] value = [0x94, 0xc4, 0x02, 0x00, 0x08, 0xc4, 0x00, 0xc4, 0x01, 0x00, 0x91, 0x93, .. type, .. ttl, 0x91, 0xc4, 0x04, 192, 0, 2, 99];
        StoreTests.Overwrite(store.Store, "www.example.com.", value);
        var reply = store.Ask("www.example.com.", RRType.A);
        Assert.Equal(Rcode.NoError, reply.Rcode);
        var answer = Assert.Single(reply.Answers);
        Assert.Equal("192.0.2.99", answer.Data.ToString());
        Assert.Equal(3600u, answer.Ttl);
    }

    [Theory]
    [InlineData(new byte[] { })]                                                     // empty
    [InlineData(new byte[] { 0x93, 0xc0, 0xc0, 0xc0 })]                              // three items, not four
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0 })]            // ends before the RRsets
    [InlineData(new byte[] { 0x94, 0xa2, 0x00, 0x08, 0xc0, 0xc0, 0x90 })]            // a str where a bin belongs
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0x91, 0x93, 0xff, 0x01, 0x90 })]          // negative type
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0x91, 0x93, 0xce, 0, 1, 0, 0, 0x01, 0x90 })] // type above 65535
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0x91, 0x93, 0x01, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff })] // 2^31 records claimed
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0xdd, 0x00, 0xff, 0xff, 0xff })]          // 16M RRsets claimed
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0x91, 0x93, 0x01, 0x01, 0x91, 0xc6, 0xff, 0xff, 0xff, 0xf0, 1 })] // record longer than the value
    [InlineData(new byte[] { 0x94, 0xc4, 0x02, 0x00, 0x08, 0xc0, 0xc0, 0x90, 0xc0 })]                          // trailing octet
    public void A_malformed_node_value_is_answered_SERVFAIL_without_an_exception(byte[] value)
    {
        using var store = StoreFixture.With(StoreFixture.ExampleZone);
        StoreTests.Overwrite(store.Store, "www.example.com.", value);
        Assert.Equal(Rcode.ServFail, store.Ask("www.example.com.", RRType.A).Rcode);
        Assert.Equal(1, store.Answerer.Counters.Corrupt);
        Assert.Equal(Rcode.NoError, store.Ask("ns1.example.com.", RRType.A).Rcode);
    }
}
