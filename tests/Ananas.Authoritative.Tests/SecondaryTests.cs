using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>NSD (Debian) as a secondary of <c>auth serve</c>: it transfers the zone, and a NOTIFY makes it fetch a new serial at once.</summary>
public sealed class SecondaryTests
{
    private static readonly DnsName Zone = DnsName.Parse("xfr.test.");

    [FactWhenNsdInstalled]
    public async Task Nsd_as_secondary_transfers_the_zone_and_after_notify_serves_the_new_serial()
    {
        var store = TransferTests.StoreWith(TransferTests.ZoneText(1, 300));
        var dir = Path.GetDirectoryName(store)!;
        var nsdAddress = NsdHierarchy.FreeLoopbackAddress();
        await using var primary = await AuthServer.StartAsync(store, s =>
        {
            s.AuthoritativeAllowTransfer = ["127.0.0.0/8"];
            s.AuthoritativeNotify = [$"{nsdAddress}:53"];
        });
        var nsdDir = Path.Combine(dir, "nsd");
        Directory.CreateDirectory(nsdDir);
        // The zone's SOA refresh is 60 s and its retry 30 s: within this test only a NOTIFY makes NSD look again.
        await File.WriteAllTextAsync(Path.Combine(nsdDir, "nsd.conf"), NsdHierarchy.NsdServerSection(nsdDir, nsdAddress) + $"""
            zone:
                name: "xfr.test."
                zonefile: "{nsdDir}/xfr.test.secondary"
                request-xfr: {primary.Address}@53 NOKEY
                allow-notify: 127.0.0.0/8 NOKEY

            """);
        using var nsd = Process.Start(new ProcessStartInfo(NsdHierarchy.FindNsd()!, ["-c", Path.Combine(nsdDir, "nsd.conf"), "-d"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        try
        {
            var secondary = new IPEndPoint(nsdAddress, 53);
            Assert.Equal(1u, await SerialOnceAsync(secondary, 1, nsd, TimeSpan.FromSeconds(20)));
            var www = await TransferTests.AskUdpAsync(secondary, TransferTests.ToQuery("h299.xfr.test.", RRType.TXT));
            Assert.Contains("serial 1 host 299", Assert.Single(www.Answers).Data.ToString());

            // Another process changes the zone; the server sees the new generation within a second and notifies.
            var file = Path.Combine(dir, "xfr.test.v2.zone");
            await File.WriteAllTextAsync(file, TransferTests.ZoneText(2, 300));
            using (var import = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ananas.dll"), "auth", "import", file, "--store", store])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            })!)
            {
                await import.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
                Assert.Equal(0, import.ExitCode);
            }
            Assert.Equal(2u, await SerialOnceAsync(secondary, 2, nsd, TimeSpan.FromSeconds(15)));
            www = await TransferTests.AskUdpAsync(secondary, TransferTests.ToQuery("h299.xfr.test.", RRType.TXT));
            Assert.Contains("serial 2 host 299", Assert.Single(www.Answers).Data.ToString());
            var metrics = new System.Text.StringBuilder();
            primary.Host.Pipeline.AnswerSource!.AppendMetrics(metrics);
            Assert.Contains("ananas_auth_notify_total{outcome=\"answered\"} 1", metrics.ToString());
            Assert.Matches("ananas_auth_transfers_total\\{result=\"complete\"\\} [2-9]", metrics.ToString());
        }
        finally
        {
            await NsdHierarchy.StopAsync(nsd, nsdDir);
        }
    }

    /// <summary>Polls the secondary's SOA serial until it is <paramref name="expected"/> or the time is up; returns the last serial seen (0: none).</summary>
    private static async Task<uint> SerialOnceAsync(IPEndPoint secondary, uint expected, Process nsd, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        uint serial = 0;
        while (DateTime.UtcNow < deadline)
        {
            if (nsd.HasExited) Assert.Fail($"nsd exited: {await nsd.StandardError.ReadToEndAsync()}");
            DnsMessage reply;
            try
            {
                reply = await TransferTests.AskUdpAsync(secondary, TransferTests.ToQuery("xfr.test.", RRType.SOA));
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or OperationCanceledException)
            {
                // Not listening yet.
                await Task.Delay(200);
                continue;
            }
            if (reply.Rcode == Rcode.NoError && reply.Answers.Count == 1 && reply.Answers[0].Data is SoaData soa)
            {
                serial = soa.Serial;
                if (serial == expected) return serial;
            }
            await Task.Delay(200);
        }
        return serial;
    }
}
