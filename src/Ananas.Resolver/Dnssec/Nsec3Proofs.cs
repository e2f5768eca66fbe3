using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Dnssec;

/// <summary>The NSEC3 owner-name hash (RFC 5155 §5): SHA-1 iterated over the canonical wire name and the salt.</summary>
public static class Nsec3Hash
{
    public const byte Sha1 = 1;
    public const int Length = 20;

    /// <summary>IH(salt, x, 0) = H(x || salt); IH(salt, x, k) = H(IH(salt, x, k-1) || salt); the result is IH(salt, owner, iterations).</summary>
    public static byte[] Compute(DnsName name, ReadOnlySpan<byte> salt, int iterations)
    {
        var result = new byte[Length];
        Compute(name, salt, iterations, result);
        return result;
    }

    public static void Compute(DnsName name, ReadOnlySpan<byte> salt, int iterations, Span<byte> destination)
    {
        Span<byte> buffer = stackalloc byte[DnsName.MaxWireLength + 255];
        int n = name.CopyLowerCaseTo(buffer);
        salt.CopyTo(buffer[n..]);
        SHA1.HashData(buffer[..(n + salt.Length)], destination);
        salt.CopyTo(buffer[Length..]);
        var round = buffer[..(Length + salt.Length)];
        for (int i = 0; i < iterations; i++)
        {
            destination[..Length].CopyTo(round);
            SHA1.HashData(round, destination);
        }
    }

    /// <summary>The base32hex label of a hash, lowercase as zones print it.</summary>
    public static string ToLabel(ReadOnlySpan<byte> hash) => Base32Hex.Encode(hash, lowercase: true);
}

/// <summary>
/// Authenticated denial with NSEC3 (RFC 5155 §8) over NSEC3 records the caller has validated, all of the zone
/// <c>zone</c>. Records with an unknown hash algorithm or unknown flags are ignored (§8.1, §8.2); iterations
/// above <see cref="DnssecLimits.MaxNsec3Iterations"/> make the result <see cref="DenialStatus.Insecure"/>
/// with EDE 27 before anything is hashed, above <see cref="DnssecLimits.MaxNsec3IterationsBeforeBogus"/> bogus
/// (RFC 9276 §3.2); every hash is charged to the budget.
/// One instance per proof: it caches the hashes it computed.
/// </summary>
public sealed class Nsec3Proofs
{
    private readonly List<Entry> _entries = [];
    private readonly DnsName _zone;
    private readonly ValidationBudget _budget;
    private readonly Dictionary<(DnsName Name, int Param), byte[]?> _hashes = [];
    private readonly List<(byte[] Salt, ushort Iterations)> _params = [];
    private readonly DenialResult? _early;

    public Nsec3Proofs(IEnumerable<ResourceRecord> nsec3s, DnsName zone, ValidationBudget budget)
    {
        _zone = zone;
        _budget = budget;
        foreach (var rr in nsec3s)
        {
            if (rr.Data is not Nsec3Data d || d.HashAlgorithm != Nsec3Hash.Sha1 || (d.Flags & ~Nsec3Data.OptOutFlag) != 0) continue;
            if (rr.Name.LabelCount != zone.LabelCount + 1 || !rr.Name.Parent.Equals(zone)) continue;
            if (d.NextHashedOwnerName.Length != Nsec3Hash.Length) continue;
            var ownerHash = new byte[Nsec3Hash.Length];
            if (!Base32Hex.TryDecode(rr.Name.GetLabel(0), ownerHash, out int written) || written != Nsec3Hash.Length) continue;
            if (d.Iterations > budget.Limits.MaxNsec3IterationsBeforeBogus)
            {
                _early = new DenialResult(DenialStatus.NotProven,
                    $"NSEC3 iterations {d.Iterations} exceed the limit {budget.Limits.MaxNsec3IterationsBeforeBogus}", EdeCode.UnsupportedNsec3IterationsValue);
                continue;
            }
            if (d.Iterations > budget.Limits.MaxNsec3Iterations)
            {
                _early ??= new DenialResult(DenialStatus.Insecure,
                    $"NSEC3 iterations {d.Iterations} exceed the limit {budget.Limits.MaxNsec3Iterations}", EdeCode.UnsupportedNsec3IterationsValue);
                continue;
            }
            _entries.Add(new Entry(ownerHash, d, ParamIndex(d)));
        }
    }

    /// <summary>Usable records (known algorithm and flags, owner a hash label directly under the zone).</summary>
    public int Count => _entries.Count;

    private int ParamIndex(Nsec3Data d)
    {
        for (int i = 0; i < _params.Count; i++)
            if (_params[i].Iterations == d.Iterations && _params[i].Salt.AsSpan().SequenceEqual(d.Salt.Span)) return i;
        _params.Add((d.Salt.ToArray(), d.Iterations));
        return _params.Count - 1;
    }

    /// <summary>The hash of <paramref name="name"/> under parameter set <paramref name="param"/>, or null when the budget ran out.</summary>
    private byte[]? Hash(DnsName name, int param)
    {
        if (_hashes.TryGetValue((name, param), out var hash)) return hash;
        if (!_budget.TryConsumeNsec3Hash()) return null;
        var (salt, iterations) = _params[param];
        hash = Nsec3Hash.Compute(name, salt, iterations);
        _hashes[(name, param)] = hash;
        return hash;
    }

    private enum Lookup { None, Found, OutOfBudget }

    private Lookup FindMatch(DnsName name, out Entry found)
    {
        found = default;
        foreach (var e in _entries)
        {
            var h = Hash(name, e.Param);
            if (h is null) return Lookup.OutOfBudget;
            if (h.AsSpan().SequenceEqual(e.OwnerHash)) { found = e; return Lookup.Found; }
        }
        return Lookup.None;
    }

    private Lookup FindCover(DnsName name, out Entry found)
    {
        found = default;
        foreach (var e in _entries)
        {
            var h = Hash(name, e.Param);
            if (h is null) return Lookup.OutOfBudget;
            if (Covers(e.OwnerHash, e.Data.NextHashedOwnerName.Span, h)) { found = e; return Lookup.Found; }
        }
        return Lookup.None;
    }

    /// <summary>owner &lt; hash &lt; next, or for the last NSEC3 of the chain (next ≤ owner) hash &gt; owner or hash &lt; next.</summary>
    public static bool Covers(ReadOnlySpan<byte> owner, ReadOnlySpan<byte> next, ReadOnlySpan<byte> hash)
    {
        int afterOwner = hash.SequenceCompareTo(owner), beforeNext = hash.SequenceCompareTo(next);
        if (next.SequenceCompareTo(owner) <= 0) return afterOwner > 0 || beforeNext < 0;
        return afterOwner > 0 && beforeNext < 0;
    }

    private DenialResult OutOfBudget() => new(DenialStatus.BudgetExhausted, _budget.Exhausted ?? "NSEC3 hash budget exhausted", EdeCode.DnssecBogus);

    private readonly record struct Entry(byte[] OwnerHash, Nsec3Data Data, int Param)
    {
        public bool IsDelegation => Data.Contains(RRType.NS) && !Data.Contains(RRType.SOA);
    }

    private readonly record struct Encloser(DnsName ClosestEncloser, DnsName NextCloser, Entry NextCloserCover);

    /// <summary>
    /// The closest encloser proof (§8.3): the longest existing ancestor of <paramref name="qname"/> has a
    /// matching NSEC3, and the next closer name (one label longer) is covered.
    /// </summary>
    private DenialResult? ClosestEncloserProof(DnsName qname, out Encloser proof)
    {
        proof = default;
        if (!qname.IsSubdomainOf(_zone)) return DenialResult.Fail($"{qname} is not in {_zone}");
        for (int labels = qname.LabelCount; labels >= _zone.LabelCount; labels--)
        {
            var candidate = qname.GetAncestor(labels);
            var m = FindMatch(candidate, out var match);
            if (m == Lookup.OutOfBudget) return OutOfBudget();
            if (m == Lookup.None) continue;
            if (labels == qname.LabelCount) return DenialResult.Fail($"an NSEC3 shows {qname} exists");
            // Names below a delegation or a DNAME are not this zone's to deny (RFC 5155 §8.3, RFC 6672).
            if (match.IsDelegation || match.Data.Contains(RRType.DNAME))
                return DenialResult.Fail($"closest encloser {candidate} is a delegation or DNAME");
            var nextCloser = qname.GetAncestor(labels + 1);
            var c = FindCover(nextCloser, out var cover);
            if (c == Lookup.OutOfBudget) return OutOfBudget();
            if (c == Lookup.None) return DenialResult.Fail($"no NSEC3 covers the next closer name {nextCloser}");
            proof = new Encloser(candidate, nextCloser, cover);
            return null;
        }
        return DenialResult.Fail($"no closest encloser for {qname} in {_zone}");
    }

    private DenialResult? Preflight()
    {
        if (_early is not null) return _early;
        if (_entries.Count == 0) return DenialResult.Missing("no usable NSEC3 records");
        return null;
    }

    /// <summary>NXDOMAIN (§8.4): closest encloser proof and the wildcard at the closest encloser covered.
    /// An opt-out span over the next closer name leaves it insecure (§9.2: an unsigned delegation may hide there).</summary>
    public DenialResult ProveNameError(DnsName qname)
    {
        if (Preflight() is { } early) return early;
        if (ClosestEncloserProof(qname, out var proof) is { } fail) return fail;
        var wildcard = proof.ClosestEncloser.Prepend("*");
        var c = FindCover(wildcard, out _);
        if (c == Lookup.OutOfBudget) return OutOfBudget();
        if (c == Lookup.None) return DenialResult.Fail($"no NSEC3 covers the wildcard {wildcard}");
        if (proof.NextCloserCover.Data.OptOut)
            return new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {proof.NextCloser}", ClosestEncloser: proof.ClosestEncloser);
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: proof.ClosestEncloser);
    }

    /// <summary>
    /// NODATA (§8.5, §8.6, §8.7): a matching NSEC3 without the type and CNAME (an unsigned delegation's: Insecure); for DS, a closest encloser
    /// proof whose next closer is covered by an opt-out NSEC3 proves an insecure delegation (Insecure); failing a
    /// match, the wildcard at the closest encloser matched without the type (wildcard NODATA).
    /// </summary>
    public DenialResult ProveNoData(DnsName qname, RRType qtype)
    {
        if (Preflight() is { } early) return early;
        var m = FindMatch(qname, out var match);
        if (m == Lookup.OutOfBudget) return OutOfBudget();
        if (m == Lookup.Found)
        {
            if (match.Data.Contains(qtype)) return DenialResult.Fail($"the NSEC3 for {qname} lists {qtype}");
            if (match.Data.Contains(RRType.CNAME)) return DenialResult.Fail($"the NSEC3 for {qname} lists CNAME");
            if (qtype == RRType.DS)
            {
                if (match.Data.Contains(RRType.SOA) && !qname.IsRoot) return DenialResult.Fail($"the NSEC3 for DS at {qname} comes from the child zone");
            }
            else if (match.IsDelegation)
            {
                // As with NSEC: the child's data is not the parent's to deny, and without DS the child is unsigned.
                if (match.Data.Contains(RRType.DS)) return DenialResult.Fail($"the NSEC3 for {qname} is a signed delegation's: it proves nothing but DS absence");
                return new DenialResult(DenialStatus.Insecure, $"the NSEC3 for {qname} shows an unsigned delegation", ClosestEncloser: qname);
            }
            return new DenialResult(DenialStatus.Proven, ClosestEncloser: qname);
        }
        if (ClosestEncloserProof(qname, out var proof) is { } fail) return fail;
        if (qtype == RRType.DS)
        {
            return proof.NextCloserCover.Data.OptOut
                ? new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {proof.NextCloser}: an unsigned delegation", ClosestEncloser: proof.ClosestEncloser)
                : DenialResult.Fail($"no NSEC3 matches {qname} and the span over {proof.NextCloser} is not opt-out");
        }
        return WildcardNoData(qtype, proof);
    }

    private DenialResult WildcardNoData(RRType qtype, Encloser proof)
    {
        var wildcard = proof.ClosestEncloser.Prepend("*");
        var w = FindMatch(wildcard, out var match);
        if (w == Lookup.OutOfBudget) return OutOfBudget();
        if (w == Lookup.None)
        {
            // No wildcard either, but an opt-out span over the next closer name may hide an unsigned delegation the
            // name is under: insecure, not bogus (RFC 5155 §8.6; Unbound nsec3_do_prove_nodata, case 5).
            return proof.NextCloserCover.Data.OptOut
                ? new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {proof.NextCloser}", ClosestEncloser: proof.ClosestEncloser)
                : DenialResult.Fail($"no NSEC3 matches the wildcard {wildcard}");
        }
        if (match.Data.Contains(qtype) || match.Data.Contains(RRType.CNAME)) return DenialResult.Fail($"the wildcard {wildcard} has {qtype} or CNAME");
        if (proof.NextCloserCover.Data.OptOut)
            return new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {proof.NextCloser}", ClosestEncloser: proof.ClosestEncloser);
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: proof.ClosestEncloser);
    }

    /// <summary>
    /// A wildcard answer (§8.8): the RRSIG labels give the closest encloser; the next closer name must be covered.
    /// Opt-out over it leaves the answer insecure.
    /// </summary>
    public DenialResult ProveWildcardAnswer(DnsName qname, int rrsigLabels)
    {
        if (Preflight() is { } early) return early;
        if (rrsigLabels >= qname.LabelCount) return DenialResult.Fail($"{qname} is not a wildcard expansion");
        var ce = qname.GetAncestor(rrsigLabels);
        var nextCloser = qname.GetAncestor(rrsigLabels + 1);
        var c = FindCover(nextCloser, out var cover);
        if (c == Lookup.OutOfBudget) return OutOfBudget();
        if (c == Lookup.None) return DenialResult.Fail($"no NSEC3 covers the next closer name {nextCloser}");
        if (cover.Data.OptOut) return new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {nextCloser}", ClosestEncloser: ce);
        return new DenialResult(DenialStatus.Proven, ClosestEncloser: ce);
    }

    /// <summary>
    /// A referral to an unsigned child (§8.9): either the NSEC3 matching the delegation has NS but neither DS
    /// nor SOA (Proven), or an opt-out NSEC3 covers the next closer name of the closest provable encloser (Insecure).
    /// </summary>
    public DenialResult ProveInsecureDelegation(DnsName delegation)
    {
        if (Preflight() is { } early) return early;
        var m = FindMatch(delegation, out var match);
        if (m == Lookup.OutOfBudget) return OutOfBudget();
        if (m == Lookup.Found)
        {
            if (!match.Data.Contains(RRType.NS)) return DenialResult.Fail($"the NSEC3 for {delegation} has no NS");
            if (match.Data.Contains(RRType.DS)) return DenialResult.Fail($"the NSEC3 for {delegation} lists DS: the delegation is signed");
            if (match.Data.Contains(RRType.SOA)) return DenialResult.Fail($"the NSEC3 for {delegation} comes from the child zone");
            return new DenialResult(DenialStatus.Proven, ClosestEncloser: delegation);
        }
        if (ClosestEncloserProof(delegation, out var proof) is { } fail) return fail;
        return proof.NextCloserCover.Data.OptOut
            ? new DenialResult(DenialStatus.Insecure, $"opt-out NSEC3 covers {proof.NextCloser}", ClosestEncloser: proof.ClosestEncloser)
            : DenialResult.Fail($"no NSEC3 matches {delegation} and the span over {proof.NextCloser} is not opt-out");
    }
}
