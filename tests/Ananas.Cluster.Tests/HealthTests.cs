using System.Diagnostics;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Cluster.Tests;

/// <summary>Peers that fail leave the ring within a second and come back when healthy; a silent owner never costs a client more than the budget.</summary>
public sealed class HealthTests
{
    [Fact]
    public async Task A_stopped_peer_leaves_the_ring_within_a_second_and_rejoins_when_it_returns()
    {
        var nodes = await TestNode.StartClusterAsync("a", "b", "c");
        var address = nodes[1].PeerAddress;
        try
        {
            var stopped = Stopwatch.StartNew();
            await nodes[1].StopClusterAsync();
            await TestNode.WaitUntilAsync(() => !nodes[0].InRing("b") && !nodes[2].InRing("b"), TimeSpan.FromSeconds(1));
            Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(1));
            // Its names now go to the others (and are answered).
            var name = nodes[0].NameOwnedBy("c");
            Assert.Equal(Rcode.NXDomain, (await nodes[0].QueryAsync(name)).Rcode);

            // Back on the same address: the others reconnect and put it in the ring again.
            await using var back = await TestNode.StartAsync("b", TestNode.OptionsFor("b") with { Listen = address });
            await back.Forwarder.SetMembersAsync([("a", nodes[0].PeerAddress), ("b", address), ("c", nodes[2].PeerAddress)]);
            await TestNode.WaitUntilAsync(() => nodes[0].InRing("b") && nodes[2].InRing("b"), TimeSpan.FromSeconds(3));
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_silent_owner_costs_a_client_at_most_the_budget_and_three_such_questions_take_it_out_of_the_ring()
    {
        await using var paused = new FakePeer("p", FakePeer.Mode.Silent);
        // Pings every second: here the forwarding traffic alone must find the silent peer out.
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a", budget: TimeSpan.FromMilliseconds(50)) with { ProbeInterval = TimeSpan.FromSeconds(1) });
        try
        {
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("p", paused.Address)]);
            await TestNode.WaitUntilAsync(() => a.InRing("p"), TimeSpan.FromSeconds(5));
            var names = Enumerable.Range(0, 10_000).Select(i => $"www.d{i}.test.").Where(n => a.Forwarder.OwnersOf(DnsName.Parse(n))[0] == "p").Take(3).ToList();
            // One local resolution first, so the timed ones measure the budget and not the first resolution's JIT.
            Assert.Equal(Rcode.NXDomain, (await a.QueryAsync(a.NameOwnedBy("a"))).Rcode);
            foreach (var name in names)
            {
                var timer = Stopwatch.StartNew();
                var answer = await a.QueryAsync(name);
                var waited = timer.Elapsed;
                Assert.Equal(Rcode.NXDomain, answer.Rcode);
                // The budget (50 ms) plus a local resolution against the in-process authority, with room for a loaded
                // machine: far below the query's timeout, which is what the client would wait without the budget.
                Assert.True(waited < TimeSpan.FromMilliseconds(1000), $"the client waited {waited.TotalMilliseconds} ms; {a.Counters()}");
            }
            Assert.Equal(3, paused.Queries);
            Assert.Equal(3, a.Forwarder.Metrics.BudgetTimeouts);
            Assert.True(a.Authority.Queries > 0, "resolved locally after the budget");
            Assert.False(a.InRing("p"));
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_peer_that_stops_answering_pings_leaves_the_ring_within_a_second_and_returns_when_it_answers_again()
    {
        await using var peer = new FakePeer("p", FakePeer.Mode.AcknowledgeOnly);
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a") with { ProbeInterval = TimeSpan.FromMilliseconds(100) });
        try
        {
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("p", peer.Address)]);
            await TestNode.WaitUntilAsync(() => a.InRing("p"), TimeSpan.FromSeconds(5));
            var timer = Stopwatch.StartNew();
            peer.Paused = true;
            await TestNode.WaitUntilAsync(() => !a.InRing("p"), TimeSpan.FromSeconds(5));
            Assert.True(timer.Elapsed < TimeSpan.FromSeconds(1), $"left after {timer.Elapsed.TotalMilliseconds} ms; {a.Counters()} {a.Forwarder.Status().Peers[0]}");
            peer.Paused = false;
            await TestNode.WaitUntilAsync(() => a.InRing("p"), TimeSpan.FromSeconds(1));
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_node_with_another_secret_is_refused_counted_and_never_asked()
    {
        var a = await TestNode.StartAsync("a");
        var intruder = await TestNode.StartAsync("x", TestNode.OptionsFor("x", secret: System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)));
        try
        {
            await intruder.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("x", intruder.PeerAddress)]);
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("x", intruder.PeerAddress)]);
            // Each side refuses the other's connection attempts, over and over.
            await TestNode.WaitUntilAsync(() => a.Forwarder.Metrics.RefusedPeers >= 2 && intruder.Forwarder.Metrics.RefusedPeers >= 2, TimeSpan.FromSeconds(5));
            Assert.False(a.InRing("x"));
            Assert.False(intruder.InRing("a"));
            var name = TestNode.NameOwnedAmong("x", "a", "x");
            await a.QueryAsync(name);
            Assert.Equal(0, a.Forwarder.Metrics.Forwarded);
            Assert.Equal(0, intruder.Forwarder.Metrics.ServedForPeers);
            Assert.Contains("ananas_cluster_refused_peers_total", Metrics(a));
        }
        finally
        {
            await a.DisposeAsync();
            await intruder.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_owner_that_acknowledged_a_question_and_then_fell_silent_is_given_up_within_three_budgets()
    {
        await using var slow = new FakePeer("s", FakePeer.Mode.AcknowledgeOnly);
        // A budget long enough for a pong on a busy test host: one late pong would give the live owner up.
        var budget = TimeSpan.FromMilliseconds(250);
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a", budget: budget) with { ProbeInterval = TimeSpan.FromSeconds(2) });
        try
        {
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("s", slow.Address)]);
            await TestNode.WaitUntilAsync(() => a.InRing("s"), TimeSpan.FromSeconds(5));
            var pending = a.QueryAsync(a.NameOwnedBy("s"));
            await TestNode.WaitUntilAsync(() => slow.Queries == 1, TimeSpan.FromSeconds(2));
            // Alive (it answers the pings of each quiet budget) and resolving: the client keeps waiting.
            await Task.Delay(budget * 5);
            Assert.False(pending.IsCompleted, "an acknowledged question waits past the budget while its owner answers pings");
            var timer = Stopwatch.StartNew();
            slow.Paused = true;
            var answer = await pending;
            Assert.Equal(Rcode.NXDomain, answer.Rcode);
            // At most three budgets of silence, plus the local resolution, with room for a loaded machine.
            Assert.True(timer.Elapsed < budget * 3 + TimeSpan.FromMilliseconds(300), $"given up after {timer.Elapsed.TotalMilliseconds} ms");
            Assert.True(a.Authority.Queries > 0, "resolved locally");
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_owner_that_keeps_acknowledging_is_given_up_at_the_querys_timeout()
    {
        await using var slow = new FakePeer("s", FakePeer.Mode.AcknowledgeOnly);
        // The owner answers every ping and never the question: only the query's own timeout (1 s) ends the wait.
        var a = await TestNode.StartAsync("a", TestNode.OptionsFor("a", budget: TimeSpan.FromMilliseconds(100)) with { ProbeInterval = TimeSpan.FromMilliseconds(100) },
            new Ananas.Server.Pipeline.PipelineOptions { Access = Ananas.Server.Pipeline.AccessList.Default, ResolveTimeout = TimeSpan.FromSeconds(1) });
        try
        {
            await a.Forwarder.SetMembersAsync([("a", a.PeerAddress), ("s", slow.Address)]);
            await TestNode.WaitUntilAsync(() => a.InRing("s"), TimeSpan.FromSeconds(5));
            var timer = Stopwatch.StartNew();
            var answer = await a.QueryAsync(a.NameOwnedBy("s"));
            // Resolved here in what is left of the timeout (nothing): SERVFAIL, or the answer if the local resolution beat the cancellation.
            Assert.Contains(answer.Rcode, new[] { Rcode.ServFail, Rcode.NXDomain });
            Assert.True(timer.Elapsed >= TimeSpan.FromSeconds(0.9) && timer.Elapsed < TimeSpan.FromSeconds(3), $"answered after {timer.Elapsed.TotalMilliseconds} ms");
            Assert.Equal(1, slow.Queries);
            Assert.Equal(0, a.Forwarder.Status().Peers[0].InFlight);
            Assert.True(a.InRing("s"), "an owner that answers pings stays in the ring");
        }
        finally
        {
            await a.DisposeAsync();
        }
    }

    private static string Metrics(TestNode node)
    {
        var sb = new System.Text.StringBuilder();
        node.Forwarder.AppendMetrics(sb);
        return sb.ToString();
    }
}
