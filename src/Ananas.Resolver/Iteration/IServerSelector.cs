using System.Net;
using Ananas.Dns;

namespace Ananas.Resolver.Iteration;

/// <summary>
/// Orders a zone's server addresses for trying, best first. The seam where RTT-based selection (the conductor's
/// infrastructure cache) plugs in; the default orders at random.
/// </summary>
public interface IServerSelector
{
    void Order(List<IPEndPoint> servers, DnsName zoneCut);
}

/// <summary>Random order (Fisher–Yates on the injected <see cref="IRandom"/>), so that load spreads and replays repeat.</summary>
public sealed class RandomServerSelector(IRandom random) : IServerSelector
{
    public void Order(List<IPEndPoint> servers, DnsName zoneCut)
    {
        for (int i = servers.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (servers[i], servers[j]) = (servers[j], servers[i]);
        }
    }
}
