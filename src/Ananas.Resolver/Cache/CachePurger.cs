using Ananas.Dns;

namespace Ananas.Resolver.Cache;

/// <summary>How many entries a purge removed from each cache.</summary>
public readonly record struct PurgeResult(int Records, int Answers, int Failures = 0)
{
    public int Total => Records + Answers + Failures;
}

/// <summary>
/// Purges the record cache, the wire-format <see cref="AnswerCache"/> and the <see cref="FailureCache"/> together, so
/// that an answer built from purged data cannot be served from the fast path afterwards, and a purged name is resolved
/// afresh even if it failed moments ago. The answer cache is purged after the record cache: an answer rebuilt in
/// between comes from the already purged record cache. The server's control API calls this; nothing else should purge
/// one cache alone.
/// </summary>
public sealed class CachePurger(IRecordCache records, AnswerCache? answers = null, FailureCache? failures = null)
{
    /// <summary>Everything cached for <paramref name="name"/>, every type.</summary>
    public PurgeResult Purge(DnsName name)
    {
        int r = records.Purge(name);
        return new PurgeResult(r, answers?.Purge(name) ?? 0, failures?.Purge(name) ?? 0);
    }

    /// <summary>What is cached for (<paramref name="name"/>, <paramref name="type"/>).</summary>
    public PurgeResult Purge(DnsName name, RRType type)
    {
        int r = records.Purge(name, type);
        return new PurgeResult(r, answers?.Purge(name, type) ?? 0, failures?.Purge(name, type) ?? 0);
    }

    /// <summary>Everything cached for <paramref name="apex"/> and the names below it.</summary>
    public PurgeResult PurgeSubtree(DnsName apex)
    {
        int r = records.PurgeSubtree(apex);
        return new PurgeResult(r, answers?.PurgeSubtree(apex) ?? 0, failures?.PurgeSubtree(apex) ?? 0);
    }
}
