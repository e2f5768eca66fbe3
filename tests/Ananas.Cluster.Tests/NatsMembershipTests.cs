using Ananas.Tests.Lab;
using NATS.Client.KeyValueStore;
using NATS.Net;

namespace Ananas.Cluster.Tests;

/// <summary>A fact skipped when the Debian nats-server is not installed (scripts/setup.sh installs it).</summary>
public sealed class FactWhenNatsServerInstalledAttribute : FactAttribute
{
    public FactWhenNatsServerInstalledAttribute()
    {
        if (NatsServer.Find() is null) Skip = "nats-server is not installed: run scripts/setup.sh (it installs the Debian package nats-server)";
    }
}

/// <summary>Membership from a JetStream key-value bucket: nodes find each other without configuration and drop out when they stop renewing.</summary>
public sealed class NatsMembershipTests
{
    [FactWhenNatsServerInstalled]
    public async Task Nodes_registered_in_the_bucket_join_each_others_ring_and_one_that_stops_renewing_drops_out()
    {
        await using var server = await NatsServer.StartAsync();
        var nodes = new List<TestNode>();
        try
        {
            string url = server.Url;
            foreach (var id in new[] { "a", "b" })
                nodes.Add(await TestNode.StartAsync(id, TestNode.OptionsFor(id) with { NatsUrl = url, NatsBucket = "test", Lease = TimeSpan.FromSeconds(2) }));
            await TestNode.WaitUntilAsync(() => nodes.All(n => n.RingSize() == 2), TimeSpan.FromSeconds(15));

            // A member that registered once and never renewed (a node killed with -9): in, then out after the lease.
            await using var ghost = new FakePeer("ghost", FakePeer.Mode.AcknowledgeOnly);
            await using (var nats = new NatsClient(url))
            {
                var kv = await nats.CreateKeyValueStoreContext().GetStoreAsync("test");
                await kv.PutAsync("ghost", ghost.Address.ToString());
            }
            await TestNode.WaitUntilAsync(() => nodes[0].InRing("ghost"), TimeSpan.FromSeconds(5));
            await TestNode.WaitUntilAsync(() => !nodes[0].InRing("ghost") && nodes[0].Forwarder.Status().Peers.All(p => p.Id != "ghost"), TimeSpan.FromSeconds(8));
            Assert.True(nodes[0].InRing("b"), "the renewing member stays");
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }
}
