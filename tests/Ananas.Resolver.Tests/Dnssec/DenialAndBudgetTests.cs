using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using static Ananas.Resolver.Tests.Dnssec.Kit;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>KeyTrap bounds (CVE-2023-50387, CVE-2023-50868) and the NSEC / NSEC3 denial proofs.</summary>
public sealed class DenialAndBudgetTests
{
    private static readonly DnsName Zone = N("example.org.");
    private static readonly uint Inception = Time("20240101000000"), Expiration = Time("20240201000000");
    private static readonly FixedClock During = FixedClock.At("20240115000000");

    /// <summary>A zone key whose key tag is <paramref name="tag"/>: the last two octets are chosen to make it so.</summary>
    private static DnskeyData KeyWithTag(ushort tag, int seed)
    {
        var bytes = new byte[32];
        new Random(seed).NextBytes(bytes);
        for (int v = 0; v < 65536; v++)
        {
            bytes[30] = (byte)(v >> 8);
            bytes[31] = (byte)v;
            var key = new DnskeyData(257, 3, 15, (byte[])bytes.Clone());
            if (key.KeyTag == tag) return key;
        }
        throw new InvalidOperationException("no such key");
    }

    [Fact]
    public void Keytrap_a_signature_whose_tag_more_keys_share_than_the_limit_is_bogus_without_a_verification()
    {
        const ushort tag = 4242;
        var keys = Enumerable.Range(0, DnssecLimits.Default.MaxKeyTagCollisions + 1).Select(i => KeyWithTag(tag, i)).ToList();
        var rrset = Rrs("www.example.org. 300 IN A 192.0.2.1");
        var sig = new RrsigData(RRType.A, 15, 3, 300, Expiration, Inception, tag, Zone, new byte[64]);
        var budget = new ValidationBudget();
        var result = new RRsetVerifier(During).Verify(rrset, [sig], Zone, keys, budget);
        Assert.Equal(RRsetStatus.Bogus, result.Status);
        Assert.Contains("share key tag", result.Reason);
        Assert.Equal(0, budget.VerificationsUsed);
    }

    [Fact]
    public void Keytrap_more_RRSIGs_over_one_RRset_than_the_limit_are_bogus_even_with_a_good_one_among_them()
    {
        var signer = new Ed25519Key();
        var rrset = Rrs("www.example.org. 300 IN A 192.0.2.1");
        var good = signer.SignRRset(rrset, Zone, Inception, Expiration);
        var sigs = new List<RrsigData> { good };
        sigs.AddRange(Enumerable.Range(0, DnssecLimits.Default.MaxSignaturesPerRRset).Select(_ => WithSignature(good, new byte[64])));
        var budget = new ValidationBudget();
        var result = new RRsetVerifier(During).Verify(rrset, sigs, Zone, [signer.Dnskey()], budget);
        Assert.Equal(RRsetStatus.Bogus, result.Status);
        Assert.Equal(0, budget.VerificationsUsed);
        // At the limit the good one is found.
        Assert.True(new RRsetVerifier(During).Verify(rrset, sigs.GetRange(0, DnssecLimits.Default.MaxSignaturesPerRRset), Zone, [signer.Dnskey()], new ValidationBudget()).IsSecure);
    }

    [Fact]
    public void Keytrap_many_keys_and_many_bad_signatures_exhaust_the_budget()
    {
        const ushort tag = 777;
        var keys = Enumerable.Range(0, DnssecLimits.Default.MaxKeyTagCollisions).Select(i => KeyWithTag(tag, 100 + i)).ToList();
        var rrset = Rrs("www.example.org. 300 IN A 192.0.2.1");
        var sigs = Enumerable.Range(0, DnssecLimits.Default.MaxSignaturesPerRRset).Select(i => new RrsigData(RRType.A, 15, 3, 300, Expiration, Inception, tag, Zone, new byte[64])).ToList();
        var budget = new ValidationBudget();
        var verifier = new RRsetVerifier(During);

        var first = verifier.Verify(rrset, sigs, Zone, keys, budget);
        Assert.Equal(RRsetStatus.BudgetExhausted, first.Status);
        // The bound counts failures: one more verification is tried, and its failure ends the RRset (as Unbound).
        Assert.Equal(DnssecLimits.Default.MaxVerificationsPerRRset + 1, budget.VerificationsUsed);

        // More RRsets of the same query: the per-query total stops them too.
        RRsetVerification last = first;
        for (int i = 0; i < 10; i++) last = verifier.Verify(rrset, sigs, Zone, keys, budget);
        Assert.Equal(RRsetStatus.BudgetExhausted, last.Status);
        Assert.Equal(DnssecLimits.Default.MaxVerificationsPerQuery, budget.VerificationsUsed);
        Assert.NotNull(budget.Exhausted);

        // Even a good signature is not looked at once the query's budget is gone.
        var signer = new Ed25519Key();
        var good = signer.SignRRset(rrset, Zone, Inception, Expiration);
        Assert.Equal(RRsetStatus.BudgetExhausted, verifier.Verify(rrset, [good], Zone, [signer.Dnskey()], budget).Status);
        Assert.True(verifier.Verify(rrset, [good], Zone, [signer.Dnskey()], new ValidationBudget()).IsSecure);
    }

    [Fact]
    public void A_valid_signature_among_colliding_keys_is_found_within_the_limit()
    {
        var signer = new Ed25519Key();
        var real = signer.Dnskey();
        var keys = new List<DnskeyData> { KeyWithTag(real.KeyTag, 1), KeyWithTag(real.KeyTag, 2), real };
        var rrset = Rrs("www.example.org. 300 IN A 192.0.2.1");
        var budget = new ValidationBudget();
        var result = new RRsetVerifier(During).Verify(rrset, [signer.SignRRset(rrset, Zone, Inception, Expiration)], Zone, keys, budget);
        Assert.True(result.IsSecure, result.Reason);
        Assert.Equal(3, budget.VerificationsUsed);
    }

    [Fact]
    public void A_valid_signature_after_as_many_failed_verifications_as_the_bound_allows_is_still_found()
    {
        // Four keys share a tag (the real one first) and two stale signatures come first: 2 x 4 = 8 failed
        // verifications, then the good signature with the real key, the ninth. Unbound and Knot Resolver validate this.
        var signer = new Ed25519Key();
        var real = signer.Dnskey();
        var keys = new List<DnskeyData> { real };
        keys.AddRange(Enumerable.Range(0, 3).Select(i => KeyWithTag(real.KeyTag, 10 + i)));
        var rrset = Rrs("www.example.org. 300 IN A 192.0.2.1");
        var good = signer.SignRRset(rrset, Zone, Inception, Expiration);
        var budget = new ValidationBudget();
        var result = new RRsetVerifier(During).Verify(rrset, [WithSignature(good, new byte[64]), WithSignature(good, new byte[64]), good], Zone, keys, budget);
        Assert.True(result.IsSecure, result.Reason);
        Assert.Equal(DnssecLimits.Default.MaxVerificationsPerRRset + 1, budget.VerificationsUsed);

        // One more stale signature ahead of them: the ninth verification fails and the RRset is bogus, bounded.
        var bounded = new ValidationBudget();
        var hostile = new RRsetVerifier(During).Verify(rrset, [WithSignature(good, new byte[64]), WithSignature(good, new byte[64]), WithSignature(good, new byte[64]), good], Zone, keys, bounded);
        Assert.Equal(RRsetStatus.BudgetExhausted, hostile.Status);
        Assert.Equal(DnssecLimits.Default.MaxVerificationsPerRRset + 1, bounded.VerificationsUsed);
    }

    // ---- NSEC (the RFC 4035 Appendix A zone's chain) ----

    private static readonly DnsName Example = N("example.");

    private static readonly List<ResourceRecord> NsecChain = Rrs(
        "example. 3600 IN NSEC a.example. NS SOA MX RRSIG NSEC DNSKEY",
        "a.example. 3600 IN NSEC ai.example. NS DS RRSIG NSEC",
        "ai.example. 3600 IN NSEC b.example. A HINFO AAAA RRSIG NSEC",
        "b.example. 3600 IN NSEC ns1.example. NS RRSIG NSEC",
        "ns1.example. 3600 IN NSEC ns2.example. A RRSIG NSEC",
        "ns2.example. 3600 IN NSEC *.w.example. A RRSIG NSEC",
        "*.w.example. 3600 IN NSEC x.w.example. MX RRSIG NSEC",
        "x.w.example. 3600 IN NSEC x.y.w.example. MX RRSIG NSEC",
        "x.y.w.example. 3600 IN NSEC xx.example. MX RRSIG NSEC",
        "xx.example. 3600 IN NSEC example. A HINFO AAAA RRSIG NSEC");

    private static List<ResourceRecord> Nsecs(params string[] owners) =>
        [.. NsecChain.Where(r => owners.Contains(r.Name.ToString()))];

    [Fact]
    public void Nsec_name_error_rfc4035_b2()
    {
        // ml.example.: covered by b.example., wildcard *.example. covered by example.
        Assert.True(NsecProofs.ProveNameError(N("ml.example."), Nsecs("b.example.", "example."), Example).IsProven);
        Assert.Equal(Example, NsecProofs.ProveNameError(N("ml.example."), NsecChain, Example).ClosestEncloser);
        Assert.False(NsecProofs.ProveNameError(N("ml.example."), Nsecs("b.example."), Example).IsProven);   // wildcard not denied
        Assert.False(NsecProofs.ProveNameError(N("ml.example."), Nsecs("example."), Example).IsProven);     // qname not covered
        Assert.False(NsecProofs.ProveNameError(N("ns1.example."), NsecChain, Example).IsProven);           // it exists
    }

    [Fact]
    public void Nsec_name_error_is_not_proven_for_an_empty_non_terminal()
    {
        // b.example. has no records but c.b.example. exists: the NSEC that "covers" b.example. (and the wildcard
        // below it) points below it, so it exists and NXDOMAIN is a lie (NODATA is the answer).
        var chain = Rrs(
            "example. 3600 IN NSEC a.example. NS SOA RRSIG NSEC DNSKEY",
            "a.example. 3600 IN NSEC c.b.example. A RRSIG NSEC",
            "c.b.example. 3600 IN NSEC example. A RRSIG NSEC");
        Assert.False(NsecProofs.ProveNameError(N("b.example."), chain, Example).IsProven);
        Assert.True(NsecProofs.ProveNoData(N("b.example."), RRType.A, chain, Example).IsProven);
        Assert.True(NsecProofs.ProveNameError(N("d.example."), chain, Example).IsProven);
    }

    [Fact]
    public void Nsec_name_error_wraps_around_at_the_last_nsec()
    {
        Assert.True(NsecProofs.Covers(N("xx.example."), Example, N("zz.example.")));
        Assert.True(NsecProofs.ProveNameError(N("zz.example."), Nsecs("xx.example.", "example."), Example).IsProven);
        Assert.False(NsecProofs.Covers(N("xx.example."), Example, N("a.example.")));
    }

    [Fact]
    public void Nsec_names_under_a_delegation_are_not_denied_by_the_parent()
    {
        // x.b.example. sorts between b.example. and ns1.example., but b.example. is a delegation.
        Assert.False(NsecProofs.ProveNameError(N("x.b.example."), NsecChain, Example).IsProven);
    }

    [Fact]
    public void Nsec_no_data_rfc4035_b3_and_failures()
    {
        Assert.True(NsecProofs.ProveNoData(N("ns1.example."), RRType.MX, NsecChain, Example).IsProven);
        Assert.False(NsecProofs.ProveNoData(N("ns1.example."), RRType.A, NsecChain, Example).IsProven);
        // A delegation's NSEC denies DS only.
        Assert.True(NsecProofs.ProveNoData(N("b.example."), RRType.DS, NsecChain, Example).IsProven);
        Assert.False(NsecProofs.ProveNoData(N("b.example."), RRType.A, NsecChain, Example).IsProven);
        // ... but an unsigned one (no DS) leaves the child's data insecure (Unbound's insecure-delegation NODATA);
        // a signed one (a.example., DS) proves nothing about the child's data.
        Assert.Equal(DenialStatus.Insecure, NsecProofs.ProveNoData(N("b.example."), RRType.A, NsecChain, Example).Status);
        Assert.Equal(DenialStatus.NotProven, NsecProofs.ProveNoData(N("a.example."), RRType.A, NsecChain, Example).Status);
        // The apex NSEC (SOA) cannot deny a DS for the zone itself: that is the parent's business.
        Assert.False(NsecProofs.ProveNoData(Example, RRType.DS, NsecChain, Example).IsProven);
        // A CNAME at the name means the resolver should have followed it.
        var cname = Rrs("c.example. 3600 IN NSEC d.example. CNAME RRSIG NSEC");
        Assert.False(NsecProofs.ProveNoData(N("c.example."), RRType.A, cname, Example).IsProven);
    }

    [Fact]
    public void Nsec_empty_non_terminal_no_data()
    {
        // y.w.example. has no records but x.y.w.example. exists: the NSEC before it points below it.
        Assert.True(NsecProofs.ProveNoData(N("y.w.example."), RRType.A, Nsecs("x.w.example."), Example).IsProven);
    }

    [Fact]
    public void Nsec_wildcard_answer_and_wildcard_no_data_rfc4035_b6_b7()
    {
        // a.z.w.example. MX from *.w.example. (RRSIG labels 2): z.w.example. must not exist.
        Assert.True(NsecProofs.ProveWildcardAnswer(N("a.z.w.example."), 2, Nsecs("x.y.w.example."), Example).IsProven);
        Assert.False(NsecProofs.ProveWildcardAnswer(N("a.z.w.example."), 2, Nsecs("ns2.example."), Example).IsProven);
        // x.w.example. exists, so nothing under it comes from *.w.example.
        Assert.False(NsecProofs.ProveWildcardAnswer(N("a.x.w.example."), 2, NsecChain, Example).IsProven);
        // a.z.w.example. AAAA: the wildcard has no AAAA.
        Assert.True(NsecProofs.ProveNoData(N("a.z.w.example."), RRType.AAAA, Nsecs("x.y.w.example.", "*.w.example."), Example).IsProven);
        Assert.False(NsecProofs.ProveNoData(N("a.z.w.example."), RRType.MX, Nsecs("x.y.w.example.", "*.w.example."), Example).IsProven);
    }

    [Fact]
    public void Nsec_insecure_delegation_rfc4035_b5()
    {
        Assert.True(NsecProofs.ProveInsecureDelegation(N("b.example."), NsecChain, Example).IsProven);
        Assert.False(NsecProofs.ProveInsecureDelegation(N("a.example."), NsecChain, Example).IsProven); // has DS
        Assert.False(NsecProofs.ProveInsecureDelegation(Example, NsecChain, Example).IsProven);           // apex
        Assert.False(NsecProofs.ProveInsecureDelegation(N("ns1.example."), NsecChain, Example).IsProven); // no NS
    }

    // ---- NSEC3 (RFC 5155 Appendix A and B) ----

    private static readonly (string Name, string Hash)[] Rfc5155Hashes =
    [
        ("example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"),
        ("a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"),
        ("ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"),
        ("ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"),
        ("ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"),
        ("w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"),
        ("*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"),
        ("x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"),
        ("y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"),
        ("x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"),
        ("xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"),
        ("2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi"),
    ];

    [Fact]
    public void Nsec3_hashes_of_rfc5155_appendix_a()
    {
        byte[] salt = Convert.FromHexString("aabbccdd");
        foreach (var (name, hash) in Rfc5155Hashes)
        {
            Assert.Equal(hash, Nsec3Hash.ToLabel(Nsec3Hash.Compute(N(name), salt, 12)));
            Assert.Equal(hash, Nsec3Hash.ToLabel(Nsec3Hash.Compute(N(name.ToUpperInvariant()), salt, 12)));
        }
    }

    /// <summary>The NSEC3 chain of the RFC 5155 Appendix A zone (all opt-out, flags 1).</summary>
    private static List<ResourceRecord> Nsec3Chain(byte flags = 1, int iterations = 12) => Rrs(
        $"0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG",
        $"2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
        $"2vptu5timamqttgl4luu9kg21e0aor3s.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd 35mthgpgcu1qg68fab165klnsnk3dpvl MX RRSIG",
        $"35mthgpgcu1qg68fab165klnsnk3dpvl.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG",
        $"b4um86eghhds6nea196smvmlo4ors995.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG",
        $"gjeqe526plbf1g8mklp59enfd789njgi.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd ji6neoaepv8b5o6k4ev33abha8ht9fgc A HINFO AAAA RRSIG",
        $"ji6neoaepv8b5o6k4ev33abha8ht9fgc.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd k8udemvp1j2f7eg6jebps17vp3n8i58h",
        $"k8udemvp1j2f7eg6jebps17vp3n8i58h.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        $"kohar7mbb8dc2ce8a9qvl8hon4k53uhi.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd q04jkcevqvmu85r014c7dkba38o0ji5r A RRSIG",
        $"q04jkcevqvmu85r014c7dkba38o0ji5r.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG",
        $"r53bq7cc2uvmubfu5ocmm6pers9tk9en.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd t644ebqk9bibcna874givr6joj62mlhv MX RRSIG",
        $"t644ebqk9bibcna874givr6joj62mlhv.example. 3600 IN NSEC3 1 {flags} {iterations} aabbccdd 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom A HINFO AAAA RRSIG");

    private static List<ResourceRecord> Pick(List<ResourceRecord> chain, params string[] hashes) =>
        [.. chain.Where(r => hashes.Any(h => r.Name.ToString().StartsWith(h, StringComparison.Ordinal)))];

    private static Nsec3Proofs Proofs(IEnumerable<ResourceRecord> records, ValidationBudget? budget = null) =>
        new(records, Example, budget ?? new ValidationBudget());

    [Fact]
    public void Nsec3_b1_name_error()
    {
        // Closest encloser x.w.example. (b4um…), next closer c.x.w.example. covered by 0p9m…, wildcard covered by 35mt….
        var records = Pick(Nsec3Chain(), "b4um", "0p9m", "35mt");
        var optOut = Proofs(records).ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.Insecure, optOut.Status); // the RFC's chain is all opt-out (§9.2)
        Assert.Equal(N("x.w.example."), optOut.ClosestEncloser);
        var strict = Proofs(Pick(Nsec3Chain(flags: 0), "b4um", "0p9m", "35mt")).ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.Proven, strict.Status);
        // Without the wildcard's cover, or without the closest encloser's match, nothing is proven.
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "b4um", "0p9m")).ProveNameError(N("a.c.x.w.example.")).Status);
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "0p9m", "35mt")).ProveNameError(N("a.c.x.w.example.")).Status);
        Assert.Equal(DenialStatus.NotProven, Proofs(Nsec3Chain(0)).ProveNameError(N("x.w.example.")).Status); // exists
    }

    [Fact]
    public void A_proof_that_proves_nothing_is_bogus_EDE_6_and_no_usable_records_is_nsec_missing_EDE_12()
    {
        // Unbound val_nsec3_b1_nameerror_nowc: the wildcard is not denied, but the NSEC3 records are there.
        var noWildcard = Proofs(Pick(Nsec3Chain(0), "b4um", "0p9m")).ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.NotProven, noWildcard.Status);
        Assert.Equal(EdeCode.DnssecBogus, noWildcard.Ede);
        var uncovered = NsecProofs.ProveNameError(N("ml.example."), Nsecs("example."), Example);
        Assert.Equal(EdeCode.DnssecBogus, uncovered.Ede);
        // RFC 8914 §4.13: nothing usable to validate the denial with.
        var unusable = Proofs(Rrs("2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. 3600 IN NSEC3 2 0 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG"))
            .ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.NotProven, unusable.Status);
        Assert.Equal(EdeCode.NsecMissing, unusable.Ede);
    }

    [Fact]
    public void Nsec3_b2_no_data_and_b21_empty_non_terminal()
    {
        Assert.Equal(DenialStatus.Proven, Proofs(Pick(Nsec3Chain(), "2t7b")).ProveNoData(N("ns1.example."), RRType.MX).Status);
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(), "2t7b")).ProveNoData(N("ns1.example."), RRType.A).Status);
        Assert.Equal(DenialStatus.Proven, Proofs(Pick(Nsec3Chain(), "ji6n")).ProveNoData(N("y.w.example."), RRType.A).Status);
    }

    [Fact]
    public void Nsec3_b3_referral_to_an_opt_out_unsigned_zone()
    {
        // mc.c.example.: closest provable encloser example. (0p9m…), next closer c.example. covered by opt-out 35mt….
        var records = Pick(Nsec3Chain(), "0p9m", "35mt");
        Assert.Equal(DenialStatus.Insecure, Proofs(records).ProveInsecureDelegation(N("c.example.")).Status);
        Assert.Equal(DenialStatus.Insecure, Proofs(records).ProveNoData(N("c.example."), RRType.DS).Status);
        // Without opt-out the same records prove nothing.
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "0p9m", "35mt")).ProveNoData(N("c.example."), RRType.DS).Status);
        // a.example. is a signed delegation: its NSEC3 lists DS.
        Assert.Equal(DenialStatus.NotProven, Proofs(Nsec3Chain()).ProveInsecureDelegation(N("a.example.")).Status);
        // Its data is the child's: the parent's NSEC3 denies it nothing; had it no DS, the child's data would be
        // insecure (Unbound val_cnametoinsecure, NSEC3 part).
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "35mt")).ProveNoData(N("a.example."), RRType.A).Status);
        var unsigned = Rrs("35mthgpgcu1qg68fab165klnsnk3dpvl.example. 3600 IN NSEC3 1 0 12 aabbccdd b4um86eghhds6nea196smvmlo4ors995 NS");
        Assert.Equal(DenialStatus.Insecure, Proofs(unsigned).ProveNoData(N("a.example."), RRType.A).Status);
    }

    [Fact]
    public void Nsec3_b4_wildcard_expansion()
    {
        // a.z.w.example. from *.w.example. (labels 2): next closer z.w.example. covered by q04j….
        Assert.Equal(DenialStatus.Insecure, Proofs(Pick(Nsec3Chain(), "q04j")).ProveWildcardAnswer(N("a.z.w.example."), 2).Status);
        Assert.Equal(DenialStatus.Proven, Proofs(Pick(Nsec3Chain(0), "q04j")).ProveWildcardAnswer(N("a.z.w.example."), 2).Status);
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "k8ud")).ProveWildcardAnswer(N("a.z.w.example."), 2).Status);
    }

    [Fact]
    public void Nsec3_b5_wildcard_no_data()
    {
        // Closest encloser w.example. (k8ud…), next closer z.w.example. covered (q04j…), wildcard *.w.example. matched (r53b…) without AAAA.
        var strict = Proofs(Pick(Nsec3Chain(0), "k8ud", "q04j", "r53b")).ProveNoData(N("a.z.w.example."), RRType.AAAA);
        Assert.Equal(DenialStatus.Proven, strict.Status);
        Assert.Equal(N("w.example."), strict.ClosestEncloser);
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "k8ud", "q04j", "r53b")).ProveNoData(N("a.z.w.example."), RRType.MX).Status);
        Assert.Equal(DenialStatus.Insecure, Proofs(Pick(Nsec3Chain(), "k8ud", "q04j", "r53b")).ProveNoData(N("a.z.w.example."), RRType.AAAA).Status);
        // Without the wildcard's NSEC3: bogus, unless an opt-out span covers the next closer name (§8.6: an unsigned
        // delegation may be there), which leaves it insecure (deckard val_nsec3_b5_wcnodata_nowc).
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(0), "k8ud", "q04j")).ProveNoData(N("a.z.w.example."), RRType.AAAA).Status);
        Assert.Equal(DenialStatus.Insecure, Proofs(Pick(Nsec3Chain(), "k8ud", "q04j")).ProveNoData(N("a.z.w.example."), RRType.AAAA).Status);
    }

    [Fact]
    public void Nsec3_b6_ds_from_the_child_apex_is_not_a_proof()
    {
        Assert.Equal(DenialStatus.NotProven, Proofs(Pick(Nsec3Chain(), "0p9m")).ProveNoData(Example, RRType.DS).Status);
    }

    [Fact]
    public void Nsec3_iterations_above_the_limit_are_insecure_without_hashing()
    {
        var budget = new ValidationBudget();
        var result = Proofs(Nsec3Chain(0, iterations: 200), budget).ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.Insecure, result.Status);
        Assert.Equal(EdeCode.UnsupportedNsec3IterationsValue, result.Ede);
        Assert.Equal(0, budget.Nsec3HashesUsed);

        // Up to the second limit (500 by default) still insecure; past it bogus (RFC 9276 §3.2), still without hashing.
        Assert.Equal(DenialStatus.Insecure, Proofs(Nsec3Chain(0, iterations: 500), budget).ProveNameError(N("a.c.x.w.example.")).Status);
        var huge = Proofs(Nsec3Chain(0, iterations: 2500), budget).ProveNameError(N("a.c.x.w.example."));
        Assert.Equal(DenialStatus.NotProven, huge.Status);
        Assert.Equal(EdeCode.UnsupportedNsec3IterationsValue, huge.Ede);
        // With the second limit off (the peers' policy) any count past the first is insecure.
        var lenient = new ValidationBudget(DnssecLimits.Default with { MaxNsec3IterationsBeforeBogus = ushort.MaxValue });
        Assert.Equal(DenialStatus.Insecure, Proofs(Nsec3Chain(0, iterations: ushort.MaxValue), lenient).ProveNameError(N("a.c.x.w.example.")).Status);
        Assert.Equal(0, budget.Nsec3HashesUsed + lenient.Nsec3HashesUsed);

        var lowered = new ValidationBudget(DnssecLimits.Default with { MaxNsec3Iterations = 10 });
        Assert.Equal(DenialStatus.Insecure, Proofs(Nsec3Chain(0), lowered).ProveNoData(N("ns1.example."), RRType.MX).Status);
        Assert.Equal(0, lowered.Nsec3HashesUsed);
    }

    [Fact]
    public void Nsec3_hash_budget_bounds_the_work()
    {
        var budget = new ValidationBudget(DnssecLimits.Default with { MaxNsec3HashesPerQuery = 2 });
        var result = Proofs(Nsec3Chain(0), budget).ProveNameError(N("a.b.c.d.e.f.x.w.example."));
        Assert.Equal(DenialStatus.BudgetExhausted, result.Status);
        Assert.Equal(2, budget.Nsec3HashesUsed);
        // Hashes are computed once per name and parameter set.
        var roomy = new ValidationBudget();
        Assert.Equal(DenialStatus.Proven, Proofs(Nsec3Chain(0), roomy).ProveNameError(N("a.c.x.w.example.")).Status);
        Assert.Equal(4, roomy.Nsec3HashesUsed); // a.c.x.w, c.x.w, x.w (match), *.x.w
    }

    [Fact]
    public void Nsec3_records_with_unknown_hash_or_flags_are_ignored()
    {
        var records = Rrs(
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. 3600 IN NSEC3 2 0 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG",
            "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example. 3600 IN NSEC3 1 2 12 aabbccdd 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG");
        var proofs = Proofs(records);
        Assert.Equal(0, proofs.Count);
        Assert.Equal(DenialStatus.NotProven, proofs.ProveNoData(N("ns1.example."), RRType.MX).Status);
    }

    [Fact]
    public void Nsec3_cover_wraps_around()
    {
        var owner = new byte[20]; owner[0] = 0xF0;
        var next = new byte[20]; next[0] = 0x10;
        var high = new byte[20]; high[0] = 0xF8;
        var low = new byte[20]; low[0] = 0x01;
        var mid = new byte[20]; mid[0] = 0x80;
        Assert.True(Nsec3Proofs.Covers(owner, next, high));
        Assert.True(Nsec3Proofs.Covers(owner, next, low));
        Assert.False(Nsec3Proofs.Covers(owner, next, mid));
        Assert.False(Nsec3Proofs.Covers(owner, next, owner));
    }
}
