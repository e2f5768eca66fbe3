using Ananas.Authoritative.Store;
using Ananas.Dns;

namespace Ananas.Authoritative.Zones;

/// <summary><c>ananas auth export</c>: a zone from the store back as a zone file (names in canonical order, apex first), read in one transaction.</summary>
public static class ZoneExporter
{
    /// <returns>False when the store holds no such zone.</returns>
    public static bool Export(EdgeStore store, DnsName apex, TextWriter output)
    {
        using var snapshot = ZoneSnapshot.Open(store, apex);
        if (snapshot is null) return false;
        output.WriteLine($"$ORIGIN {snapshot.Zone.Apex}");
        foreach (var record in snapshot.Records()) output.WriteLine(record.ToString());
        return true;
    }
}
