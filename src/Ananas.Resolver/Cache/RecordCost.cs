using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;

namespace Ananas.Resolver.Cache;

/// <summary>
/// What one record cache entry costs on the heap, counted from the objects it holds on 64-bit .NET (16-byte object
/// header, 8-byte references, 24-byte array header): the entry object; the RRset object; its owner name (object plus
/// wire array); its data list (object plus backing array); and per record an RData object header plus the RDATA's
/// uncompressed wire length (a stand-in for the RData's fields, which hold the same information: addresses, names,
/// strings). Negative entries count the NegativeAnswer, its SOA record and its authority records alike. Names are
/// counted for every entry even when entries share one DnsName instance, so the figure is an upper bound: the cache
/// never holds more than its budget. The key's name is the RRset's own owner (not counted twice); the cache adds its
/// per-node bookkeeping (<see cref="CacheEntryOverhead"/>).
/// </summary>
public static class RecordCost
{
    private const int ObjectHeader = 16;
    private const int ArrayHeader = 24;
    private const int Reference = 8;

    /// <summary>A DnsName: object (wire reference, hash, label count) plus its wire array.</summary>
    public static long Of(DnsName name) => ObjectHeader + Reference + 8 + ArrayHeader + Align(name.WireLength);

    /// <summary>An RRset with its owner, its list and its records.</summary>
    public static long Of(RRset rrset)
    {
        long bytes = ObjectHeader + 3 * Reference + 8 /*type, class, ttl*/ + Of(rrset.Name);
        bytes += ObjectHeader + Reference + 8 + ArrayHeader + Reference * (long)rrset.Data.Count; // List<RData> and its array
        for (int i = 0; i < rrset.Data.Count; i++) bytes += Of(rrset.Data[i]);
        return bytes;
    }

    /// <summary>A negative answer: the record, its name, its SOA and its authority records.</summary>
    public static long Of(NegativeAnswer answer)
    {
        long bytes = ObjectHeader + 4 * Reference + 8 + Of(answer.Name);
        if (answer.Soa is not null) bytes += Of(answer.Soa);
        bytes += ArrayHeader + Reference * (long)answer.Authority.Count;
        foreach (var rr in answer.Authority) bytes += Of(rr);
        return bytes;
    }

    /// <summary>The RRSIGs kept with an RRset: their list (none: the shared empty array, free) and their data.</summary>
    public static long Of(IReadOnlyList<RrsigData> signatures)
    {
        if (signatures.Count == 0) return 0;
        long bytes = ObjectHeader + Reference + 8 + ArrayHeader + Reference * (long)signatures.Count;
        for (int i = 0; i < signatures.Count; i++) bytes += Of(signatures[i]);
        return bytes;
    }

    /// <summary>A resource record: object, owner and data.</summary>
    public static long Of(ResourceRecord record) => ObjectHeader + 2 * Reference + 8 + Of(record.Name) + Of(record.Data);

    /// <summary>An RData: object header plus its uncompressed RDATA length (at least one reference's worth of fields).</summary>
    public static long Of(RData data) => ObjectHeader + Math.Max(Reference, Align(WireLength(data)));

    [ThreadStatic] private static byte[]? t_scratch;

    private static int WireLength(RData data)
    {
        var scratch = t_scratch ??= new byte[ushort.MaxValue];
        var writer = new WireWriter(scratch, NameWriteMode.Uncompressed);
        data.WriteTo(ref writer);
        return writer.Position;
    }

    private static long Align(long bytes) => (bytes + 7) & ~7L;
}
