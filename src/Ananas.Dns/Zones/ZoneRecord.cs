using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>A record read from a zone file, with where it was written (for diagnostics).</summary>
public sealed record ZoneRecord(ResourceRecord Record, string File, int Line, int Column)
{
    public string Location => $"{File}:{Line}:{Column}";
}

/// <summary>The outcome of reading a zone file: the records that parsed and an error for each that did not.</summary>
public sealed class ZoneFile
{
    public List<ZoneRecord> Records { get; } = [];

    public List<ZoneFileException> Errors { get; } = [];

    /// <summary>The origin in force at the start of the file (given by the caller).</summary>
    public DnsName? InitialOrigin { get; init; }

    /// <summary>The first <c>$ORIGIN</c> seen in the top-level file, if any.</summary>
    public DnsName? FirstOrigin { get; internal set; }

    public bool HasErrors => Errors.Count > 0;

    /// <summary>Raises the first error, if there is one.</summary>
    public void ThrowIfErrors()
    {
        if (Errors.Count > 0) throw Errors[0];
    }
}
