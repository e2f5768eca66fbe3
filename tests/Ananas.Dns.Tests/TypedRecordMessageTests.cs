using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Tests;

public class TypedRecordMessageTests
{
    [Fact]
    public void Typed_records_survive_a_message_round_trip_and_only_RFC1035_names_compress()
    {
        var q = DnsMessage.CreateQuery(7, DnsName.Parse("example.com."), RRType.ANY);
        var r = q.CreateResponse();
        string[] lines =
        [
            "example.com. 300 MX 10 mail.example.com.",
            "example.com. 300 SRV 1 2 3 host.example.com.",
            "example.com. 300 RRSIG MX 8 2 300 20250101000000 20240101000000 1 example.com. AAAA",
            "example.com. 300 NSEC z.example.com. MX RRSIG NSEC",
            "example.com. 300 HTTPS 1 svc.example.com. alpn=h2 port=443",
            "example.com. 300 TXT \"hello\"",
        ];
        foreach (var line in lines) r.Answers.Add(RecordText.Parse(line, DnsName.Root));
        var wire = r.ToArray();
        var parsed = DnsMessage.Parse(wire);
        Assert.Equal(r.Answers, parsed.Answers);

        // The MX exchange is compressed (points back into the question), the others are written in full.
        static int Count(byte[] haystack, byte[] needle)
        {
            int n = 0;
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
                if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle)) n++;
            return n;
        }
        byte[] fullSuffix = [7, .. "example"u8, 3, .. "com"u8, 0];
        // Question, SRV target, RRSIG signer, NSEC next name, HTTPS target: five uncompressed copies.
        Assert.Equal(5, Count(wire, fullSuffix));
    }
}
