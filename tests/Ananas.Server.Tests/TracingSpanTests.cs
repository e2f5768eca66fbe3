using System.Net;
using System.Text;
using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Hosting;

namespace Ananas.Server.Tests;

/// <summary>Guests' tracing spans reach the query log: each answered query's line lists the spans its plugins opened.</summary>
public sealed class TracingSpanTests
{
    [Fact]
    public async Task Each_query_log_line_lists_the_spans_families_opened_for_that_query()
    {
        var dir = Directory.CreateTempSubdirectory("ananas-spans-");
        var output = new MemoryStream();
        try
        {
            var malware = Path.Combine(dir.FullName, "malware.txt");
            await File.WriteAllTextAsync(malware, "bad.test\n");
            await using (var server = await PluginServer.StartAsync($"""
                [[plugin]]
                name = "families"
                module = "{PluginServer.App("families")}"
                [plugin.data]
                malware = "domains:{malware}"
                """))
            {
                var log = new QueryLog(output, ownsOutput: false);
                server.Host.Pipeline.QueryLog = log;
                Assert.Equal(IPAddress.Any, ((Ananas.Dns.Records.AddressData)Assert.Single((await server.AskAsync("bad.test")).Answers).Data).Address);
                Assert.Equal(Rcode.NoError, (await server.AskAsync("clean.test")).Rcode);   // resolved
                Assert.Equal(Rcode.NoError, (await server.AskAsync("clean.test")).Rcode);   // from the cache
                server.Host.Pipeline.QueryLog = null;
                await log.DisposeAsync();
            }
            var lines = Encoding.UTF8.GetString(output.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.Equal(["bad.test.", "clean.test.", "clean.test."], lines.Select(l => l.GetProperty("qname").GetString()));
            foreach (var line in lines)
            {
                // One request callback per query, one span each: the previous query's span is not carried over.
                var span = Assert.Single(line.GetProperty("spans").EnumerateArray().ToList());
                Assert.Equal("families", span.GetProperty("source").GetString());
                Assert.Equal("lists", span.GetProperty("name").GetString());
                double start = span.GetProperty("start_ms").GetDouble(), duration = span.GetProperty("duration_ms").GetDouble();
                Assert.InRange(start, 0, line.GetProperty("latency_ms").GetDouble());
                Assert.InRange(duration, 0, line.GetProperty("latency_ms").GetDouble());
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
