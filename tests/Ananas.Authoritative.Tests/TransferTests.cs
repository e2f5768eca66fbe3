using System.Net;
using System.Net.Sockets;
using System.Text;
using Ananas.Authoritative.Store;
using Ananas.Authoritative.Zones;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Authoritative.Tests;

/// <summary>Zone transfer out (RFC 5936 AXFR, RFC 1995 IXFR answered in full) through <c>auth serve</c>.</summary>
public sealed class TransferTests
{
    private static readonly DnsName Zone = DnsName.Parse("xfr.test.");

    /// <summary>A zone of <paramref name="hosts"/> names (A and TXT each): large enough for several transfer messages.</summary>
    internal static string ZoneText(uint serial, int hosts)
    {
        var text = new StringBuilder($"$ORIGIN xfr.test.\n$TTL 300\n@ IN SOA ns1 hostmaster {serial} 60 30 600 60\n@ IN NS ns1\nns1 IN A 192.0.2.1\n");
        for (int i = 0; i < hosts; i++) text.Append($"h{i} IN A 198.51.100.{i % 250 + 1}\nh{i} IN TXT \"serial {serial} host {i}\"\n");
        return text.ToString();
    }

    internal static string StoreWith(string zoneText)
    {
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        Import(Path.Combine(dir, "store"), Path.Combine(dir, "xfr.test.zone"), zoneText);
        return Path.Combine(dir, "store");
    }

    internal static void Import(string storePath, string file, string zoneText)
    {
        File.WriteAllText(file, zoneText);
        using var store = new EdgeStore(storePath);
        var log = new StringWriter();
        Assert.True(ZoneImporter.Import(store, [file], null, log) == 0, log.ToString());
    }

    [Fact]
    public async Task Axfr_over_tcp_sends_the_soa_first_and_last_and_every_record_of_the_zone_in_several_messages()
    {
        var store = StoreWith(ZoneText(7, 1500));
        await using var server = await AuthServer.StartAsync(store, s => s.AuthoritativeAllowTransfer = ["127.0.0.0/8"]);

        var messages = await TransferClient.TransferAsync(server.EndPoint, Zone);

        Assert.True(messages.Count > 3, $"{messages.Count} messages for a zone of 3003 records");
        Assert.All(messages, m => Assert.True(m.Has(HeaderFlags.AA) && m.Rcode == Rcode.NoError));
        var records = messages.SelectMany(m => m.Answers).ToList();
        Assert.Equal(RRType.SOA, records[0].Type);
        Assert.Equal(RRType.SOA, records[^1].Type);
        Assert.Equal(7u, ((SoaData)records[0].Data).Serial);
        Assert.Equal(2, records.Count(r => r.Type == RRType.SOA));
        // Every record of the zone once: 1500 A, 1500 TXT, NS, the name server's A, the SOA (twice).
        Assert.Equal(3 + 3000 + 1, records.Count);
        Assert.Equal(1501, records.Count(r => r.Type == RRType.A));
        Assert.Equal(1500, records.Select(r => r.ToString()).Where(r => r.Contains("TXT")).Distinct().Count());
        Assert.Single(messages[0].Questions);
    }

    [Fact]
    public async Task Zone_transfers_are_refused_outside_allow_transfer_and_axfr_over_udp_is_refused()
    {
        var store = StoreWith(ZoneText(1, 3));
        await using (var closed = await AuthServer.StartAsync(store, s => s.AuthoritativeAllowTransfer = ["192.0.2.0/24"]))
        {
            var refused = Assert.Single(await TransferClient.TransferAsync(closed.EndPoint, Zone));
            Assert.Equal(Rcode.Refused, refused.Rcode);
            Assert.Empty(refused.Answers);
            Assert.False(refused.Has(HeaderFlags.RA));
        }
        await using (var nobody = await AuthServer.StartAsync(store))
        {
            Assert.Equal(Rcode.Refused, Assert.Single(await TransferClient.TransferAsync(nobody.EndPoint, Zone)).Rcode);
        }
        await using var open = await AuthServer.StartAsync(store, s => s.AuthoritativeAllowTransfer = ["127.0.0.0/8"]);
        var overUdp = await AskUdpAsync(open.EndPoint, TransferClient.Query(Zone, RRType.AXFR));
        Assert.Equal(Rcode.Refused, overUdp.Rcode);
        Assert.Empty(overUdp.Answers);
        // A zone we do not serve: NOTAUTH (RFC 5936 §2.2.1).
        Assert.Equal(Rcode.NotAuth, Assert.Single(await TransferClient.TransferAsync(open.EndPoint, DnsName.Parse("other.test."))).Rcode);
    }

    [Fact]
    public async Task Ixfr_gets_the_soa_alone_when_the_secondary_is_current_or_asks_over_udp_and_the_whole_zone_otherwise()
    {
        var store = StoreWith(ZoneText(5, 20));
        await using var server = await AuthServer.StartAsync(store, s => s.AuthoritativeAllowTransfer = ["127.0.0.0/8"]);

        var current = Assert.Single(await TransferClient.TransferAsync(server.EndPoint, Zone, RRType.IXFR, ixfrSerial: 5));
        Assert.Equal(5u, ((SoaData)Assert.Single(current.Answers).Data).Serial);

        var overUdp = await AskUdpAsync(server.EndPoint, TransferClient.Query(Zone, RRType.IXFR, ixfrSerial: 4));
        Assert.Equal(5u, ((SoaData)Assert.Single(overUdp.Answers).Data).Serial);

        // Older serial: the whole zone in the AXFR format (RFC 1995 §4 allows it), SOA first and last.
        var records = (await TransferClient.TransferAsync(server.EndPoint, Zone, RRType.IXFR, ixfrSerial: 4)).SelectMany(m => m.Answers).ToList();
        Assert.Equal(3 + 40 + 1, records.Count);
        Assert.Equal(RRType.SOA, records[0].Type);
        Assert.Equal(RRType.SOA, records[^1].Type);
    }

    [Fact]
    public void A_snapshot_reads_the_zone_as_it_was_while_a_write_replaces_it()
    {
        var storePath = StoreWith(ZoneText(1, 50));
        using var store = new EdgeStore(storePath);
        using var snapshot = ZoneSnapshot.Open(store, Zone)!;
        using var records = snapshot.Records().GetEnumerator();
        Assert.True(records.MoveNext());

        // Replaced (serial 2, other TXT, fewer names) while the transfer is under way.
        var file = Path.Combine(Path.GetDirectoryName(storePath)!, "new.zone");
        File.WriteAllText(file, ZoneText(2, 10));
        var log = new StringWriter();
        Assert.Equal(0, ZoneImporter.Import(store, [file], null, log));

        var seen = new List<ResourceRecord> { records.Current };
        while (records.MoveNext()) seen.Add(records.Current);
        Assert.Equal(3 + 100, seen.Count);
        Assert.All(seen.Where(r => r.Type == RRType.TXT), r => Assert.Contains("serial 1 ", r.Data.ToString()));
        Assert.Equal(1u, snapshot.Serial);
        using var after = ZoneSnapshot.Open(store, Zone)!;
        Assert.Equal(2u, after.Serial);
        Assert.Equal(3 + 20, after.Records().Count());
    }

    [Fact]
    public async Task Refused_and_formerr_replies_of_the_authoritative_role_do_not_offer_recursion()
    {
        var store = StoreWith(ZoneText(1, 1));
        await using (var server = await AuthServer.StartAsync(store, s => s.Allow = ["192.0.2.0/24"]))
        {
            var refused = await AskUdpAsync(server.EndPoint, TransferClient.Query(Zone, RRType.SOA));
            Assert.Equal(Rcode.Refused, refused.Rcode);
            Assert.False(refused.Has(HeaderFlags.RA));
        }

        await using var open = await AuthServer.StartAsync(store);
        // A header that promises a question and a truncated one: the pipeline's FORMERR.
        byte[] malformed = [0x12, 0x34, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, (byte)'x', (byte)'f'];
        var formErr = await AskUdpAsync(open.EndPoint, malformed);
        Assert.Equal(Rcode.FormErr, formErr.Rcode);
        Assert.False(formErr.Has(HeaderFlags.RA));
    }

    internal static DnsMessage ToQuery(string name, RRType type) => TransferClient.Query(DnsName.Parse(name), type);

    internal static Task<DnsMessage> AskUdpAsync(IPEndPoint server, DnsMessage query) => AskUdpAsync(server, query.ToArray());

    internal static async Task<DnsMessage> AskUdpAsync(IPEndPoint server, byte[] query)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        var buffer = new byte[65536];
        for (int attempt = 0; ; attempt++)
        {
            await socket.SendAsync(query, SocketFlags.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                return DnsMessage.Parse(buffer.AsSpan(0, n));
            }
            catch (OperationCanceledException) when (attempt < 2)
            {
            }
        }
    }
}
