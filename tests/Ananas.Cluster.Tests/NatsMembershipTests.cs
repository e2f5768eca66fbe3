using System.Diagnostics;
using System.Net;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Ananas.Cluster.Tests;

/// <summary>A fact skipped when the Debian nats-server is not installed (scripts/setup.sh installs it).</summary>
public sealed class FactWhenNatsServerInstalledAttribute : FactAttribute
{
    public FactWhenNatsServerInstalledAttribute()
    {
        if (NatsMembershipTests.NatsServer() is null) Skip = "nats-server is not installed: run scripts/setup.sh (it installs the Debian package nats-server)";
    }
}

/// <summary>Membership from a JetStream key-value bucket: nodes find each other without configuration and drop out when they stop renewing.</summary>
public sealed class NatsMembershipTests
{
    public static string? NatsServer() => new[] { "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server" }.FirstOrDefault(File.Exists);

    [FactWhenNatsServerInstalled]
    public async Task Nodes_registered_in_the_bucket_join_each_others_ring_and_one_that_stops_renewing_drops_out()
    {
        var endPoint = TestNode.FreeEndPoint();
        var store = Path.Combine(Path.GetTempPath(), $"ananas-nats-{Guid.NewGuid():N}");
        using var server = Process.Start(new ProcessStartInfo(NatsServer()!, ["-js", "-a", "127.0.0.1", "-p", endPoint.Port.ToString(), "--store_dir", store])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        })!;
        var nodes = new List<TestNode>();
        try
        {
            string url = $"nats://127.0.0.1:{endPoint.Port}";
            foreach (var id in new[] { "a", "b" })
                nodes.Add(await TestNode.StartAsync(id, TestNode.OptionsFor(id) with { NatsUrl = url, NatsBucket = "test", Lease = TimeSpan.FromSeconds(1) }));
            await TestNode.WaitUntilAsync(() => nodes.All(n => n.RingSize() == 2), TimeSpan.FromSeconds(15));

            // A member that registered once and never renewed (a node killed with -9): in, then out after the lease.
            await using var ghost = new FakePeer("ghost", FakePeer.Mode.AcknowledgeOnly);
            await using (var nats = new NatsClient(url))
            {
                var kv = await nats.CreateKeyValueStoreContext().GetStoreAsync("test");
                await kv.PutAsync("ghost", ghost.Address.ToString());
            }
            await TestNode.WaitUntilAsync(() => nodes[0].InRing("ghost"), TimeSpan.FromSeconds(5));
            await TestNode.WaitUntilAsync(() => !nodes[0].InRing("ghost") && nodes[0].Forwarder.Status().Peers.All(p => p.Id != "ghost"), TimeSpan.FromSeconds(5));
            Assert.True(nodes[0].InRing("b"), "the renewing member stays");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
            server.Kill();
            await server.WaitForExitAsync();
            Directory.Delete(store, recursive: true);
        }
    }
}
