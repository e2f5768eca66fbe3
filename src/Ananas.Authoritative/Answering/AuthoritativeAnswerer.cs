using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using LightningDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Authoritative.Answering;

/// <summary>
/// Answers queries from the edge store with authoritative semantics (RFC 1034 §4.3.2 as refined by RFC 2308,
/// 4592, 6604, 6672 and 8482): the zone by longest match in the in-memory <see cref="ZoneIndex"/>, then one
/// cursor read that lands on the name or on the key after it, whose value carries the closest encloser's
/// flags; a second read only for a wildcard source, a delegation's NS or a DNAME above the name. Writes the
/// reply straight into the caller's buffer; per query it allocates nothing.
/// </summary>
public sealed partial class AuthoritativeAnswerer
{
    private static readonly EventId CorruptValue = new(3000, "CorruptValue");
    private static readonly EventId StoreError = new(3001, "StoreError");

    [ThreadStatic]
    private static Scratch? t_scratch;

    private readonly EdgeStore _store;
    private readonly ILogger _logger;
    private readonly OnlineSigner _signer;
    private ZoneIndex _index;

    public AuthoritativeAnswerer(EdgeStore store, AuthoritativeOptions? options = null, ILogger? logger = null)
    {
        _store = store;
        Options = options ?? new AuthoritativeOptions();
        _logger = logger ?? NullLogger.Instance;
        _signer = new OnlineSigner(Options.Signing);
        _index = ZoneIndex.Load(store);
        if (Options.ReplyCacheSize > 0) Replies = new ReplyCache(Options.ReplyCacheSize);
    }

    /// <summary>Finished replies in front of the store (null when <see cref="AuthoritativeOptions.ReplyCacheSize"/> is 0).</summary>
    public ReplyCache? Replies { get; }

    /// <summary>The online signer (its signature cache and counters).</summary>
    public OnlineSigner Signer => _signer;

    public AuthoritativeOptions Options { get; }

    public AuthoritativeCounters Counters { get; } = new();

    public ZoneIndex Zones => Volatile.Read(ref _index);

    public EdgeStore Store => _store;

    /// <summary>Reloads the zone index if the store changed (its generation moved); true when it did.</summary>
    public bool Refresh()
    {
        var current = Volatile.Read(ref _index);
        if (_store.ReadGeneration() == current.Generation) return false;
        Volatile.Write(ref _index, ZoneIndex.Load(_store));
        return true;
    }

    /// <summary>
    /// Answers <paramref name="query"/> into <paramref name="reply"/> (at most <paramref name="limit"/> octets: the
    /// transport's size limit). Returns the reply's length (0: nothing can be sent) and the store reads made.
    /// </summary>
    [SkipLocalsInit] // the reader writes the name buffer before anything reads it
    public int Answer(ReadOnlySpan<byte> query, Span<byte> reply, int limit, out int reads)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        if (!QueryReader.TryRead(query, name, out var q, out _))
        {
            reads = 0;
            Counters.Count(Rcode.FormErr, 0);
            return FormatError(query, reply);
        }
        return Answer(q, reply, limit, out reads);
    }

    /// <summary>
    /// The same for a query already read (<paramref name="q"/>: what <see cref="QueryReader.TryRead"/> returned for
    /// it, successfully): the pipeline reads each query once and hands the view over.
    /// </summary>
    public int Answer(in QueryView q, Span<byte> reply, int limit, out int reads)
    {
        reads = 0;
        if (q.Header.Opcode != Opcode.Query || (q.HasEdns && q.EdnsVersion != 0) || q.Class != RRClass.IN || q.Type is RRType.AXFR or RRType.IXFR)
            return AnswerWithoutStore(q, reply, limit);
        var scratch = ScratchFor(_store);
        scratch.Dnssec = q.DnssecOk && Options.Signing.Enabled;
        scratch.CompactOk = scratch.Dnssec && (q.OptTtl & CompactOkFlag) != 0;
        var reader = scratch.Reader;
        var index = Volatile.Read(ref _index);
        var cache = Replies;
        int keyLength = 0;
        if (cache is not null)
        {
            // A repeated question is a copy, before anything of the reply is built, checked against the newest
            // commit's id (no read transaction: that is only begun for a miss).
            keyLength = ReplyCache.WriteKey(q, limit, scratch.CacheKey);
            int cached = cache.TryCopy(scratch.CacheKey.AsSpan(0, keyLength), _store.LastCommitted(), index.Generation, reply[..Math.Min(limit, reply.Length)]);
            if (cached > 0)
            {
                BinaryPrimitives.WriteUInt16BigEndian(reply, q.Header.Id);
                return cached;
            }
        }
        ulong snapshot = 0;
        scoped ResponseBuilder response = default;
        try
        {
            reader.Begin();
            // A reply is stamped with the snapshot it was read from (a commit since the check above makes it newer).
            snapshot = reader.Snapshot;
            response = new ResponseBuilder(reply, limit, q);
            if (!response.QuestionFits) return 0;
            Resolve(ref response, q, scratch, index);
        }
        catch (LightningException e)
        {
            _logger.LogError(StoreError, e, "store read failed");
            response = ServerFailure(reply, limit, q);
            if (!response.QuestionFits) return 0;
            keyLength = 0;
        }
        finally
        {
            reads = reader.Reads;
            reader.End();
        }
        if (scratch.Corrupt)
        {
            Interlocked.Increment(ref Counters.Corrupt);
            _logger.LogError(CorruptValue, "a store value for {Name} in zone {Zone} is corrupt; answered SERVFAIL", DnsName.FromWire(q.Name), scratch.CorruptZone);
            response = ServerFailure(reply, limit, q);
        }
        // Signatures are made for the moment (their validity runs out); a SERVFAIL may be a passing store error.
        if (keyLength > 0 && !scratch.Signed && response.Rcode != Rcode.ServFail)
        {
            int length = Finish(ref response, q, reads);
            cache!.Store(scratch.CacheKey.AsSpan(0, keyLength), snapshot, index.Generation, reply[..length]);
            return length;
        }
        return Finish(ref response, q, reads);
    }

    /// <summary>A query the store has no part in: NOTIMP, BADVERS, the CHAOS class, REFUSED (other classes, zone transfers here).</summary>
    private int AnswerWithoutStore(in QueryView q, Span<byte> reply, int limit)
    {
        var response = new ResponseBuilder(reply, limit, q);
        if (!response.QuestionFits) return 0;
        if (q.Header.Opcode != Opcode.Query) response.Rcode = Rcode.NotImp;
        else if (q.HasEdns && q.EdnsVersion != 0) response.Rcode = Rcode.BadVers;
        else if (q.Class == RRClass.CH) Chaos(ref response, q);
        else response.Rcode = Rcode.Refused;
        return Finish(ref response, q, 0);
    }

    private int Finish(ref ResponseBuilder response, in QueryView q, int reads)
    {
        Counters.Count(response.Rcode, reads);
        // RFC 9824 §4: a responder that understands CO says so in its reply.
        return response.Finish(Options.UdpPayload, q.DnssecOk, q.DnssecOk && Options.Signing.Enabled && (q.OptTtl & CompactOkFlag) != 0);
    }

    private static ResponseBuilder ServerFailure(Span<byte> reply, int limit, in QueryView q) =>
        new(reply, limit, q) { Rcode = Rcode.ServFail };

    /// <summary>FORMERR for a query whose question or OPT cannot be read: the header alone, echoing ID, opcode and RD.</summary>
    private static int FormatError(ReadOnlySpan<byte> query, Span<byte> reply)
    {
        if (query.Length < DnsHeader.Size || reply.Length < DnsHeader.Size) return 0;
        var header = DnsHeader.Read(query);
        ushort flags = (ushort)(0x8000 | (header.FlagsWord & 0x7900) | (ushort)Rcode.FormErr);
        new DnsHeader(header.Id, flags, 0, 0, 0, 0).Write(reply);
        return DnsHeader.Size;
    }

    private static Scratch ScratchFor(EdgeStore store)
    {
        var scratch = t_scratch;
        if (scratch is null || !ReferenceEquals(scratch.Reader.Store, store) || scratch.Reader.IsDisposed)
        {
            // A thread moving to another store leaves its old reader to that store, which disposes it.
            t_scratch = scratch = new Scratch(store.CreateReader());
        }
        scratch.Corrupt = false;
        scratch.Signed = false;
        scratch.ProofCount = 0;
        return scratch;
    }

    /// <summary>A thread's reusable buffers: the store reader, two node views and name and key buffers.</summary>
    private sealed class Scratch(StoreReader reader)
    {
        public readonly StoreReader Reader = reader;
        public readonly NodeView Node = new();
        public readonly NodeView Other = new();
        public readonly byte[] Current = new byte[DnsName.MaxWireLength];
        public readonly byte[] Next = new byte[DnsName.MaxWireLength];
        public readonly byte[] Lower = new byte[DnsName.MaxWireLength];
        public readonly byte[] Relative = new byte[NodeKey.MaxLength];
        public readonly byte[] Key = new byte[NodeKey.MaxLength];
        public readonly int[] Offsets = new int[128];
        public bool Corrupt;
        public DnsName? CorruptZone;

        // The reply cache's key for this query.
        public readonly byte[] CacheKey = new byte[ReplyCache.MaxKey];

        /// <summary>Set when the answer carries signatures made now (such an answer is not cached).</summary>
        public bool Signed;

        // Online signing (Signing/AuthoritativeAnswerer.Dnssec.cs): the RRset image a signature is looked up by,
        // the made-up NSEC's names and RDATA, and wildcard proofs waiting for the authority section.
        public const int MaxProofs = 4;
        public readonly byte[] Image = new byte[65535 + 2 * DnsName.MaxWireLength];
        public readonly byte[] Wildcard = new byte[DnsName.MaxWireLength + 2];
        public readonly byte[] Proof = new byte[DnsName.MaxWireLength];
        public readonly byte[] NsecOwner = new byte[DnsName.MaxWireLength];
        public readonly byte[] NsecNext = new byte[DnsName.MaxWireLength];
        public readonly byte[] NsecRdata = new byte[DnsName.MaxWireLength + 256 * 34];
        public readonly PendingProof[] Proofs = [new(), new(), new(), new()];
        public int ProofCount;
        public bool Dnssec;
        public bool CompactOk;
    }
}
