namespace Ananas.Dns;

/// <summary>Resource record TYPE values (IANA registry). Values not listed are still valid (RFC 3597).</summary>
public enum RRType : ushort
{
    None = 0,
    A = 1,
    NS = 2,
    MD = 3,
    MF = 4,
    CNAME = 5,
    SOA = 6,
    MB = 7,
    MG = 8,
    MR = 9,
    NULL = 10,
    WKS = 11,
    PTR = 12,
    HINFO = 13,
    MINFO = 14,
    MX = 15,
    TXT = 16,
    RP = 17,
    AFSDB = 18,
    SIG = 24,
    KEY = 25,
    PX = 26,
    AAAA = 28,
    LOC = 29,
    NXT = 30,
    SRV = 33,
    NAPTR = 35,
    KX = 36,
    CERT = 37,
    A6 = 38,
    DNAME = 39,
    OPT = 41,
    DS = 43,
    SSHFP = 44,
    RRSIG = 46,
    NSEC = 47,
    DNSKEY = 48,
    DHCID = 49,
    NSEC3 = 50,
    NSEC3PARAM = 51,
    TLSA = 52,
    SMIMEA = 53,
    CDS = 59,
    CDNSKEY = 60,
    OPENPGPKEY = 61,
    CSYNC = 62,
    ZONEMD = 63,
    SVCB = 64,
    HTTPS = 65,
    SPF = 99,
    /// <summary>A meta-type, only in NSEC type bitmaps: the owner does not exist (RFC 9824 §2, compact denial).</summary>
    NXNAME = 128,
    TKEY = 249,
    TSIG = 250,
    IXFR = 251,
    AXFR = 252,
    ANY = 255,
    URI = 256,
    CAA = 257,
}

/// <summary>Resource record CLASS values.</summary>
public enum RRClass : ushort
{
    IN = 1,
    CH = 3,
    HS = 4,
    NONE = 254,
    ANY = 255,
}

/// <summary>Header OPCODE values.</summary>
public enum Opcode : byte
{
    Query = 0,
    IQuery = 1,
    Status = 2,
    Notify = 4,
    Update = 5,
    Dso = 6,
}

/// <summary>
/// Response codes. Values above 15 need EDNS (the upper 8 bits travel in the OPT record's TTL field).
/// </summary>
public enum Rcode : ushort
{
    NoError = 0,
    FormErr = 1,
    ServFail = 2,
    NXDomain = 3,
    NotImp = 4,
    Refused = 5,
    YXDomain = 6,
    YXRRSet = 7,
    NXRRSet = 8,
    NotAuth = 9,
    NotZone = 10,
    DsoTypeNI = 11,
    BadVers = 16,
    BadKey = 17,
    BadTime = 18,
    BadMode = 19,
    BadName = 20,
    BadAlg = 21,
    BadTrunc = 22,
    BadCookie = 23,
}

/// <summary>Extended DNS Error INFO-CODEs (RFC 8914 and the IANA registry).</summary>
public enum EdeCode : ushort
{
    Other = 0,
    UnsupportedDnskeyAlgorithm = 1,
    UnsupportedDsDigestType = 2,
    StaleAnswer = 3,
    ForgedAnswer = 4,
    DnssecIndeterminate = 5,
    DnssecBogus = 6,
    SignatureExpired = 7,
    SignatureNotYetValid = 8,
    DnskeyMissing = 9,
    RrsigsMissing = 10,
    NoZoneKeyBitSet = 11,
    NsecMissing = 12,
    CachedError = 13,
    NotReady = 14,
    Blocked = 15,
    Censored = 16,
    Filtered = 17,
    Prohibited = 18,
    StaleNxdomainAnswer = 19,
    NotAuthoritative = 20,
    NotSupported = 21,
    NoReachableAuthority = 22,
    NetworkError = 23,
    InvalidData = 24,
    SignatureExpiredBeforeValid = 25,
    TooEarly = 26,
    UnsupportedNsec3IterationsValue = 27,
    UnableToConformToPolicy = 28,
    Synthesized = 29,
    InvalidQueryType = 30,
}
