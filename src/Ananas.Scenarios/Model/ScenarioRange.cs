using System.Net;

namespace Ananas.Scenarios.Model;

/// <summary>A <c>RANGE_BEGIN from to … RANGE_END</c> block: mock authoritative servers valid for step ids in [From, To].</summary>
public sealed class ScenarioRange(int from, int to, int line)
{
    public int From { get; } = from;

    public int To { get; } = to;

    public int Line { get; } = line;

    /// <summary>Addresses served; empty means any destination.</summary>
    public List<IPAddress> Addresses { get; } = [];

    public List<ScenarioEntry> Entries { get; } = [];

    public bool Covers(int stepId) => From <= stepId && stepId <= To;

    public bool Serves(IPAddress address) => Addresses.Count == 0 || Addresses.Any(a => a.Equals(address));
}
