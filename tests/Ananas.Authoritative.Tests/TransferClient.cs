using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Authoritative.Tests;

/// <summary>A zone transfer as a secondary reads it: one query over TCP, messages until the closing SOA or an error RCODE (bounded in time and count).</summary>
internal static class TransferClient
{
    public static async Task<List<DnsMessage>> TransferAsync(IPEndPoint server, DnsName zone, RRType type = RRType.AXFR, uint? ixfrSerial = null)
    {
        var query = Query(zone, type, ixfrSerial);
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(server, timeout.Token);
        var wire = query.ToArray();
        var framed = new byte[wire.Length + 2];
        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)wire.Length);
        wire.CopyTo(framed, 2);
        await socket.SendAsync(framed, SocketFlags.None, timeout.Token);
        var messages = new List<DnsMessage>();
        var buffer = new byte[65536];
        int soas = 0;
        while (messages.Count < 10_000)
        {
            if (!await DnsExchange.ReadExactlyAsync(socket, buffer.AsMemory(0, 2), timeout.Token)) break;
            int length = BinaryPrimitives.ReadUInt16BigEndian(buffer);
            if (!await DnsExchange.ReadExactlyAsync(socket, buffer.AsMemory(0, length), timeout.Token)) break;
            var message = DnsMessage.Parse(buffer.AsSpan(0, length));
            messages.Add(message);
            soas += message.Answers.Count(r => r.Type == RRType.SOA);
            // Done: an error, a lone SOA (IXFR: up to date), or the closing SOA.
            if (message.Rcode != Rcode.NoError || soas >= 2 || (messages.Count == 1 && message.Answers.Count == 1)) break;
        }
        return messages;
    }

    public static DnsMessage Query(DnsName zone, RRType type, uint? ixfrSerial = null)
    {
        var query = DnsMessage.CreateQuery((ushort)Random.Shared.Next(65536), zone, type, recursionDesired: false);
        query.Edns = null;
        if (ixfrSerial is { } serial)
            query.Authority.Add(new Ananas.Dns.Records.ResourceRecord(zone, 0,
                new Ananas.Dns.Records.SoaData(DnsName.Parse("ns." + zone), DnsName.Parse("h." + zone), serial, 1, 1, 1, 1)));
        return query;
    }
}
