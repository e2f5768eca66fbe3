using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Infrastructure;

namespace Ananas.Resolver.Iteration;

/// <summary>What an upstream response means for the question asked (RFC 1034 §5.3.3 step 4).</summary>
public enum ResponseKind : byte
{
    /// <summary>Answer-section data for the question: the RRset, or an alias (CNAME, DNAME) for the name.</summary>
    Answer,

    /// <summary>A delegation to a zone cut below the one asked, towards the name.</summary>
    Referral,

    /// <summary>NOERROR without data (RFC 2308 NODATA).</summary>
    NoData,

    /// <summary>NXDOMAIN.</summary>
    NameError,

    /// <summary>The server is not fit to answer for the zone (see <see cref="ClassifiedResponse.Lameness"/>).</summary>
    Lame,

    /// <summary>SERVFAIL, NOTIMP, FORMERR or another error RCODE: try another server.</summary>
    ServerFailure,
}

/// <summary>An upstream response with its meaning, and the scrubbed parts the recursor uses.</summary>
public sealed class ClassifiedResponse(ResponseKind kind, DnsMessage message)
{
    public ResponseKind Kind { get; } = kind;

    public DnsMessage Message { get; } = message;

    /// <summary>The SOA proving a negative answer, when it is in bailiwick.</summary>
    public ResourceRecord? Soa { get; init; }

    /// <summary>For referrals: the child zone cut.</summary>
    public DnsName? ReferralCut { get; init; }

    /// <summary>For <see cref="ResponseKind.Lame"/>: whether to remember the server as lame, and why.</summary>
    public Lameness? Lameness { get; init; }

    /// <summary>
    /// For <see cref="ResponseKind.Lame"/> responses still better than nothing (a recursion-lame server's answer with
    /// data, an empty authoritative answer without SOA): what it means if no other server answers better.
    /// </summary>
    public ResponseKind? LastResort { get; init; }

    /// <summary>Short reason for traces and EDE text.</summary>
    public string? Reason { get; init; }

    public bool Authoritative => Message.Has(HeaderFlags.AA);
}
