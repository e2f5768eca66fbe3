using Ananas.Resolver.Cache;

namespace Ananas.Resolver.Tests.Cache;

/// <summary>Test cost: the value is the entry's payload size in bytes.</summary>
internal sealed class ValueIsCost : ICacheCost<int, int>
{
    public static readonly ValueIsCost Instance = new();

    public long CostOf(int key, int value) => value;
}
