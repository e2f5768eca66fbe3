using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Tests.Fakes;
using Ananas.Tests.Lab;

namespace Ananas.Resolver.Tests.Lab;

/// <summary>
/// Ghost domains (CVE-2022-30698, CVE-2022-30699) against real NSD servers: the parent (root and <c>test.</c>) delegates
/// <c>ghost.test.</c> for 2 s; the child's own server says its NS set lasts a day. The parent then removes the
/// delegation and reloads: once the parent's 2 s have passed, the recursor asks it again and answers NXDOMAIN.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection("Loopback sockets")]
public sealed class GhostDomainNsdTests
{
    [Fact]
    public async Task A_delegation_the_parent_removes_stops_resolving_once_the_parents_TTL_has_passed()
    {
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        var parentAddress = NsdHierarchy.FreeLoopbackAddress();
        IPAddress childAddress;
        do childAddress = NsdHierarchy.FreeLoopbackAddress(); while (childAddress.Equals(parentAddress));
        string Test(bool delegated) => $"""
            $ORIGIN test.
            $TTL 3600
            @            IN SOA ns1 hostmaster {(delegated ? 1 : 2)} 7200 3600 1209600 300
            @            IN NS  ns1
            ns1          IN A   {parentAddress}
            {(delegated ? $"ghost      2 IN NS  ns.ghost\nns.ghost   2 IN A   {childAddress}" : "")}
            """;
        await using var parent = await Nsd.StartAsync(parentAddress,
            (".", $"""
                $TTL 3600
                .            86400 IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
                .            86400 IN NS  a.root.
                a.root.      86400 IN A   {parentAddress}
                test.        86400 IN NS  ns1.test.
                ns1.test.    86400 IN A   {parentAddress}
                """),
            ("test.", Test(delegated: true)));
        await using var child = await Nsd.StartAsync(childAddress, ("ghost.test.", $"""
            $ORIGIN ghost.test.
            $TTL 86400
            @            IN SOA ns hostmaster 1 7200 3600 1209600 300
            @            IN NS  ns
            ns           IN A   {childAddress}
            www        1 IN A   192.0.2.7
            """));

        using var conductor = new Resolver.Conductor.Conductor(new Resolver.Conductor.ConductorOptions(),
            new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance));
        var recursor = NsdEndToEndTests.LabRecursor(RootHints.Single(DnsName.Parse("a.root."), parentAddress), conductor);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        async Task<DnsMessage> Ask(string name, RRType type) =>
            (await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(1, DnsName.Parse(name), type)), conductor, timeout.Token)).Message;

        var referred = Stopwatch.GetTimestamp();
        Assert.Equal(["www.ghost.test A 192.0.2.7"], Answers.Lines((await Ask("www.ghost.test.", RRType.A)).Answers));
        // The child's own NS set and its server's address, cached for a day (the parent's glue lasts 2 s).
        Assert.Equal(86400u, (await Ask("ghost.test.", RRType.NS)).Answers[0].Ttl);
        Assert.Equal(86400u, (await Ask("ns.ghost.test.", RRType.A)).Answers[0].Ttl);

        await parent.ReloadAsync("test.", Test(delegated: false), DnsName.Parse("www.ghost.test."));
        var waited = TimeSpan.FromSeconds(3) - Stopwatch.GetElapsedTime(referred);
        if (waited > TimeSpan.Zero) await Task.Delay(waited);

        var gone = await Ask("www.ghost.test.", RRType.A);
        Assert.Equal(Rcode.NXDomain, gone.Rcode);
        Assert.Empty(gone.Answers);
    }

    /// <summary>One NSD process serving the given zones on one loopback address; killed and deleted on dispose.</summary>
    private sealed class Nsd(string directory, IPAddress address, Process process) : IAsyncDisposable
    {
        public static async Task<Nsd> StartAsync(IPAddress address, params (string Name, string Text)[] zones)
        {
            var dir = Path.Combine(Path.GetTempPath(), $"ananas-ghost-{Guid.NewGuid():N}");
            System.IO.Directory.CreateDirectory(dir);
            var config = new System.Text.StringBuilder(NsdHierarchy.NsdServerSection(dir, address));
            foreach (var (name, text) in zones)
            {
                await File.WriteAllTextAsync(Path.Combine(dir, FileName(name)), text);
                config.Append($"zone:\n    name: \"{name}\"\n    zonefile: \"{FileName(name)}\"\n");
            }
            await File.WriteAllTextAsync(Path.Combine(dir, "nsd.conf"), config.ToString());
            var process = NsdHierarchy.StartProcess(dir);
            var nsd = new Nsd(dir, address, process);
            for (int i = 0; i < 100; i++)
            {
                if (await NsdHierarchy.AnswersAsync(address, DnsName.Parse(zones[0].Name))) return nsd;
                if (process.HasExited) break;
                await Task.Delay(100);
            }
            await nsd.DisposeAsync();
            throw new InvalidOperationException($"nsd on {address} did not start");
        }

        /// <summary>Rewrites a zone file and makes NSD reload it (SIGHUP), until <paramref name="gone"/> is NXDOMAIN there.</summary>
        public async Task ReloadAsync(string zone, string text, DnsName gone)
        {
            await File.WriteAllTextAsync(Path.Combine(directory, FileName(zone)), text);
            File.SetLastWriteTimeUtc(Path.Combine(directory, FileName(zone)), DateTime.UtcNow.AddSeconds(1));
            using (var kill = Process.Start("kill", ["-HUP", process.Id.ToString()])) await kill.WaitForExitAsync();
            for (int i = 0; i < 50; i++)
            {
                if (await IsNameErrorAsync(gone)) return;
                await Task.Delay(50);
            }
            throw new TimeoutException("nsd did not reload the zone");
        }

        private async Task<bool> IsNameErrorAsync(DnsName name)
        {
            using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
            socket.Connect(new IPEndPoint(address, 53));
            using var wait = new CancellationTokenSource(200);
            try
            {
                await socket.SendAsync(DnsMessage.CreateQuery(7, name, RRType.A, recursionDesired: false).ToArray(), System.Net.Sockets.SocketFlags.None, wait.Token);
                var buffer = new byte[4096];
                int n = await socket.ReceiveAsync(buffer, System.Net.Sockets.SocketFlags.None, wait.Token);
                return DnsMessage.Parse(buffer.AsSpan(0, n)).Rcode == Rcode.NXDomain;
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        private static string FileName(string zone) => zone == "." ? "root.zone" : zone.TrimEnd('.') + ".zone";

        public ValueTask DisposeAsync() => NsdHierarchy.StopAsync(process, directory);
    }
}
