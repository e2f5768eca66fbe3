namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// Tests that measure latency under load (fairness) or generate load (dnsperf) run in this collection, alone:
/// xunit runs it after the parallel ones, so neither skews the other on a small CI machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadSensitiveCollection
{
    public const string Name = "Load-sensitive (runs alone)";
}
