using System.Text;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Resolver.Dnssec;

/// <summary>The configured trust for one zone: DS records and/or DNSKEYs that validation starts from.</summary>
public sealed class TrustAnchor
{
    internal TrustAnchor(DnsName zone) => Zone = zone;

    public DnsName Zone { get; }

    public List<DsData> DsRecords { get; } = [];

    public List<DnskeyData> Keys { get; } = [];
}

/// <summary>
/// Trust anchors (RFC 4033 §3) and negative trust anchors (RFC 7646). Built-in: the root KSKs. Files may hold
/// zone-file DS or DNSKEY lines and unbound-style <c>trust-anchor: "…"</c> lines. Not thread-safe while being
/// loaded; read-only use afterwards is safe.
/// </summary>
public sealed class TrustAnchors
{
    /// <summary>
    /// The root zone's KSK trust anchors as DS records, from IANA's root-anchors.xml
    /// (https://data.iana.org/root-anchors/root-anchors.xml): KSK-2017 (key tag 20326, valid from 2017-02-02)
    /// and KSK-2024 (key tag 38696, valid from 2024-07-18). Both algorithm 8 (RSASHA256), digest type 2 (SHA-256).
    /// </summary>
    public static readonly string[] RootAnchorText =
    [
        ". IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        ". IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
    ];

    private readonly Dictionary<DnsName, TrustAnchor> _anchors = [];
    private readonly HashSet<DnsName> _negative = [];

    /// <summary>A new set with the built-in root anchors.</summary>
    public static TrustAnchors CreateDefault()
    {
        var anchors = new TrustAnchors();
        foreach (var line in RootAnchorText) anchors.Add(RecordText.Parse(line, DnsName.Root));
        return anchors;
    }

    public IReadOnlyCollection<TrustAnchor> All => _anchors.Values;

    public IReadOnlyCollection<DnsName> NegativeAnchors => _negative;

    /// <summary>Adds a DS or DNSKEY record as an anchor for its owner; other types are rejected.</summary>
    public void Add(ResourceRecord record)
    {
        var anchor = GetOrCreate(record.Name);
        switch (record.Data)
        {
            case DsData ds when ds.Type == RRType.DS:
                anchor.DsRecords.Add(ds);
                break;
            case DnskeyData key when key.Type == RRType.DNSKEY:
                anchor.Keys.Add(key);
                break;
            default:
                throw new ArgumentException($"a trust anchor is a DS or DNSKEY record, not {record.Type}", nameof(record));
        }
    }

    private TrustAnchor GetOrCreate(DnsName zone)
    {
        if (!_anchors.TryGetValue(zone, out var anchor))
        {
            _anchors[zone] = anchor = new TrustAnchor(zone);
            _depths |= DepthBit(zone.LabelCount);
        }
        return anchor;
    }

    // The label counts anchors sit at (bit 63: 63 or more), so that looking for the closest one makes no ancestor
    // name where none can be: with the root anchor alone, no name is made.
    private ulong _depths;

    private static ulong DepthBit(int labels) => 1UL << Math.Min(labels, 63);

    /// <summary>Names at and below which validation is off (RFC 7646).</summary>
    public void AddNegative(DnsName name) => _negative.Add(name);

    public bool RemoveNegative(DnsName name) => _negative.Remove(name);

    /// <summary>The negative anchor covering <paramref name="name"/>, if any.</summary>
    public bool IsUnderNegativeAnchor(DnsName name)
    {
        if (_negative.Count == 0) return false;
        for (int labels = name.LabelCount; labels >= 0; labels--)
            if (_negative.Contains(name.GetAncestor(labels))) return true;
        return false;
    }

    /// <summary>The anchor of the closest enclosing zone of <paramref name="name"/> (itself or an ancestor).</summary>
    public TrustAnchor? FindClosest(DnsName name)
    {
        for (int labels = name.LabelCount; labels >= 0; labels--)
            if ((_depths & DepthBit(labels)) != 0 && _anchors.TryGetValue(name.GetAncestor(labels), out var anchor)) return anchor;
        return null;
    }

    public TrustAnchor? Get(DnsName zone) => _anchors.GetValueOrDefault(zone);

    /// <summary>Loads anchors from a file; see <see cref="Load(TextReader, string)"/>.</summary>
    public void LoadFile(string path)
    {
        using var reader = new StreamReader(path);
        Load(reader, path);
    }

    /// <summary>
    /// Loads anchors: one record per logical line (parentheses may span lines), <c>;</c> and <c>#</c> comments,
    /// optionally written as <c>trust-anchor: "record"</c> (unbound). DS and DNSKEY only; <c>$</c> directives and
    /// other types are errors, reported with the line number.
    /// </summary>
    public void Load(TextReader reader, string source = "<anchors>")
    {
        var pending = new StringBuilder();
        int depth = 0, lineNumber = 0, startLine = 0;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            lineNumber++;
            var text = StripComment(line).Trim();
            if (pending.Length == 0)
            {
                if (text.Length == 0) continue;
                if (text.StartsWith("trust-anchor:", StringComparison.OrdinalIgnoreCase))
                {
                    text = text["trust-anchor:".Length..].Trim();
                    if (text.Length >= 2 && text[0] == '"' && text[^1] == '"') text = text[1..^1];
                }
                startLine = lineNumber;
            }
            foreach (char c in text)
            {
                if (c == '(') depth++;
                else if (c == ')') depth--;
            }
            pending.Append(text).Append(' ');
            if (depth > 0) continue;
            AddLine(pending.ToString(), source, startLine);
            pending.Clear();
            depth = 0;
        }
        if (pending.Length > 0) throw new FormatException($"{source}:{startLine}: unbalanced parentheses");
    }

    private void AddLine(string text, string source, int line)
    {
        if (text.TrimStart().StartsWith('$')) throw new FormatException($"{source}:{line}: directives are not supported in trust anchors");
        ResourceRecord record;
        try
        {
            record = RecordText.Parse(text, DnsName.Root);
        }
        catch (Exception e) when (e is ZoneFileException or DnsFormatException)
        {
            throw new FormatException($"{source}:{line}: {e.Message}", e);
        }
        if (record.Type is not (RRType.DS or RRType.DNSKEY))
            throw new FormatException($"{source}:{line}: a trust anchor is a DS or DNSKEY record, not {record.Type}");
        Add(record);
    }

    private static string StripComment(string line)
    {
        bool quoted = false;
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == '"') quoted = !quoted;
            else if (!quoted && (c == ';' || c == '#')) return line[..i];
        }
        return line;
    }
}
