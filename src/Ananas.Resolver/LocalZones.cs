using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;

namespace Ananas.Resolver;

/// <summary>
/// Special-use domains the resolver answers itself and never sends upstream: <c>localhost.</c> (RFC 6761 §6.3:
/// loopback addresses for the name and every name under it), the loopback reverse zones (RFC 6303 §4.2, §4.3:
/// <c>1.0.0.127.in-addr.arpa.</c> and <c>::1</c>'s PTR are <c>localhost.</c>), and the names that must never resolve:
/// <c>invalid.</c> and <c>test.</c> (RFC 6761 §6.2, §6.4) and <c>onion.</c> (RFC 7686 §2). Each zone has an SOA
/// and NS at its apex, so negative answers carry the SOA (RFC 2308) like any authoritative answer. The defaults
/// are Unbound's built-in local zones for these names.
/// </summary>
public sealed class LocalZones
{
    private const uint Ttl = 10800;

    /// <summary>Every zone this class can serve, by name; <see cref="Create"/> takes any subset.</summary>
    public static readonly IReadOnlyList<string> Supported =
    [
        "localhost.",
        "127.in-addr.arpa.",
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.",
        "invalid.",
        "test.",
        "onion.",
    ];

    /// <summary>Serves nothing: every name goes to resolution.</summary>
    public static readonly LocalZones None = new([]);

    private readonly Zone[] _zones;

    private LocalZones(Zone[] zones) => _zones = zones;

    /// <summary>The zones named (each one of <see cref="Supported"/>, any letter case, trailing dot optional).</summary>
    /// <exception cref="ArgumentException">A name that is not one of <see cref="Supported"/>.</exception>
    public static LocalZones Create(IEnumerable<string> names)
    {
        var zones = new List<Zone>();
        foreach (var text in names)
        {
            var zone = Build(text) ?? throw new ArgumentException(
                $"'{text}' is not a special-use zone Ananas serves (one of {string.Join(", ", Supported)})", nameof(names));
            if (!zones.Exists(z => z.Apex == zone.Apex)) zones.Add(zone);
        }
        return new LocalZones([.. zones]);
    }

    public bool IsEmpty => _zones.Length == 0;

    /// <summary>Whether <paramref name="name"/> is one of <see cref="Supported"/> (any letter case, trailing dot optional).</summary>
    public static bool IsSupported(string name) => Build(name) is not null;

    /// <summary>
    /// The local answer to <paramref name="query"/> (one IN question), or null when its name is in none of the zones.
    /// Answers are authoritative (AA, as Unbound sets for local data), never AD.
    /// </summary>
    public DnsMessage? TryAnswer(DnsMessage query)
    {
        if (_zones.Length == 0 || query.Questions.Count != 1) return null;
        var question = query.Questions[0];
        foreach (var zone in _zones)
        {
            if (!question.Name.IsSubdomainOf(zone.Apex)) continue;
            var response = query.CreateResponse(Rcode.NoError);
            response.Set(HeaderFlags.RA);
            response.Set(HeaderFlags.AA);
            var (exists, data) = zone.Lookup(question.Name);
            if (!exists) response.Rcode = Rcode.NXDomain;
            bool any = question.Type == RRType.ANY;
            foreach (var rr in data)
            {
                if (any || rr.Type == question.Type) response.Answers.Add(rr with { Name = question.Name });
            }
            if (response.Answers.Count == 0) response.Authority.Add(zone.Soa);
            return response;
        }
        return null;
    }

    /// <summary>The zone named by <paramref name="text"/> (trailing dot optional), or null if it is not one we serve.</summary>
    private static Zone? Build(string text) =>
        DnsName.TryParse(text.EndsWith('.') ? text : text + ".", DnsName.Root, out var apex, out _) ? Build(apex) : null;

    private static Zone? Build(DnsName apex)
    {
        apex = apex.ToLowerCase();
        var soa = RecordText.Parse($"{apex} {Ttl} IN SOA localhost. nobody.invalid. 1 3600 1200 604800 {Ttl}", DnsName.Root);
        var ns = RecordText.Parse($"{apex} {Ttl} IN NS localhost.", DnsName.Root);
        ResourceRecord Record(string text) => RecordText.Parse(text, DnsName.Root);
        switch (apex.ToString())
        {
            case "localhost.":
                // Every name at or under localhost. is the loopback host (RFC 6761 §6.3).
                return new Zone(apex, soa, [soa, ns], Redirect: [Record($"localhost. {Ttl} IN A 127.0.0.1"), Record($"localhost. {Ttl} IN AAAA ::1")]);
            case "127.in-addr.arpa.":
                return new Zone(apex, soa, [soa, ns, Record($"1.0.0.127.in-addr.arpa. {Ttl} IN PTR localhost.")]);
            case var name when name == Supported[2]:
                return new Zone(apex, soa, [soa, ns, Record($"{apex} {Ttl} IN PTR localhost.")]);
            case "invalid." or "test." or "onion.":
                return new Zone(apex, soa, [soa, ns]);
            default:
                return null;
        }
    }

    /// <param name="Records">The zone's data, apex included.</param>
    /// <param name="Redirect">If set, the data of every name below the apex (Unbound's "redirect" zones).</param>
    private sealed record Zone(DnsName Apex, ResourceRecord Soa, ResourceRecord[] Records, ResourceRecord[]? Redirect = null)
    {
        /// <summary>Whether the name exists (has data, or has descendants with data), and its records.</summary>
        public (bool Exists, List<ResourceRecord> Data) Lookup(DnsName name)
        {
            var data = new List<ResourceRecord>();
            if (Redirect is not null)
            {
                if (name == Apex) foreach (var rr in Records) data.Add(rr);
                foreach (var rr in Redirect) data.Add(rr);
                return (true, data);
            }
            bool exists = false;
            foreach (var rr in Records)
            {
                if (rr.Name == name)
                {
                    data.Add(rr);
                    exists = true;
                }
                else if (rr.Name.IsStrictSubdomainOf(name))
                {
                    exists = true; // an empty non-terminal: NODATA, not NXDOMAIN
                }
            }
            return (exists, data);
        }
    }
}
