using System.Net;
using Ananas.Dns;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// Orders a zone's server addresses by what the <see cref="InfrastructureCache"/> knows (IPv4 and IPv6 alike):
/// fastest smoothed RTT first; servers never measured get an optimistic estimate so that each is tried early;
/// servers that failed recently are penalised by their RTO for every failure in a row; held-down servers go last.
/// A small share of orderings (<see cref="ExplorationPercent"/>, drawn from the injected <see cref="IRandom"/>)
/// puts a random other server first, and servers passed over have their smoothed RTT aged a little
/// (<see cref="PassedOverAging"/>), so that estimates stay fresh and one bad sample does not bench a fast server
/// for good. Ties keep a random order.
/// </summary>
public sealed class RttServerSelector(InfrastructureCache infrastructure, IRandom random) : IServerSelector
{
    /// <summary>Estimate for a server never measured: low, so that it gets tried and measured.</summary>
    public TimeSpan UnknownServerRtt { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Percentage of orderings that explore (put a random non-held-down server first).</summary>
    public int ExplorationPercent { get; init; } = 5;

    /// <summary>Factor applied to the smoothed RTT of each measured server not put first (1 = no aging).</summary>
    public double PassedOverAging { get; init; } = 0.98;

    public void Order(List<IPEndPoint> servers, DnsName zoneCut)
    {
        int n = servers.Count;
        if (n <= 1) return;
        // Random order first, so that equal scores (e.g. all unknown) spread load; then a stable insertion sort.
        for (int i = n - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (servers[i], servers[j]) = (servers[j], servers[i]);
        }
        Span<long> scores = n <= 64 ? stackalloc long[n] : new long[n];
        int usable = 0;
        for (int i = 0; i < n; i++)
        {
            scores[i] = Score(servers[i].Address);
            if (scores[i] != long.MaxValue) usable++;
        }
        for (int i = 1; i < n; i++)
        {
            long score = scores[i];
            var server = servers[i];
            int j = i - 1;
            while (j >= 0 && scores[j] > score)
            {
                scores[j + 1] = scores[j];
                servers[j + 1] = servers[j];
                j--;
            }
            scores[j + 1] = score;
            servers[j + 1] = server;
        }
        if (usable > 1 && ExplorationPercent > 0 && random.Next(100) < ExplorationPercent)
        {
            int pick = 1 + random.Next(usable - 1);
            var explored = servers[pick];
            for (int k = pick; k > 0; k--) servers[k] = servers[k - 1];
            servers[0] = explored;
        }
        if (PassedOverAging < 1)
            for (int i = 1; i < n; i++) infrastructure.AgeSmoothedRtt(servers[i].Address, PassedOverAging);
    }

    /// <summary>Lower is better; <see cref="long.MaxValue"/> for held-down servers.</summary>
    private long Score(IPAddress address)
    {
        var e = infrastructure.GetEstimate(address);
        if (e.HeldDown) return long.MaxValue;
        long rtt = e.SmoothedRtt?.Ticks ?? UnknownServerRtt.Ticks;
        if (e.ConsecutiveFailures > 0) rtt = Math.Max(rtt, e.Rto.Ticks) * (1 + Math.Min(e.ConsecutiveFailures, 16));
        return rtt;
    }
}
