using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>
/// A zone's secure key set, derived once from the cached DS and DNSKEY RRsets, is used by later queries only while the
/// cache still holds those very RRsets as secure: a key set the cache replaced or let expire is derived again.
/// </summary>
public sealed class ValidatedKeySetTests : SignedHierarchyTests
{
    [Fact]
    public async Task The_key_sets_of_the_zones_on_a_validated_path_are_kept_for_the_next_query_below_them()
    {
        var cache = new RecordCache(_clock);
        var recursor = Recursor(cache: cache);
        Assert.True((await Ask(recursor, "www.example.")).Has(HeaderFlags.AD));

        var root = recursor.KeySets.Find(DnsName.Root, cache, Anchors.Get(DnsName.Root));
        var example = recursor.KeySets.Find(N("example."), cache, null);
        Assert.Equal(ValidationState.Secure, root?.Keys.State);
        Assert.Null(root?.Parent);
        Assert.Equal(ValidationState.Secure, example?.Keys.State);
        Assert.Equal(DnsName.Root, example?.Parent);
        Assert.Equal(_exampleKey.Dnskey().PublicKey.ToArray(), Assert.Single(example!.Value.Keys.Keys).PublicKey.ToArray());

        int queries = _authority.Queries.Count;
        Assert.True((await Ask(recursor, "ns.example.")).Has(HeaderFlags.AD));
        Assert.Equal(queries + 1, _authority.Queries.Count);
    }

    [Fact]
    public async Task A_key_set_is_not_used_once_the_cache_holds_another_DNSKEY_RRset_for_the_zone()
    {
        var cache = new RecordCache(_clock);
        var recursor = Recursor(cache: cache);
        Assert.True((await Ask(recursor, "www.example.")).Has(HeaderFlags.AD));
        var held = cache.Get(N("example."), RRType.DNSKEY, RRClass.IN)!;

        // The same data stored again (a refresh) is another RRset: the derivation is not assumed to carry over.
        cache.Store(new RRset(held.RRset.Name, held.RRset.Type, held.RRset.Class, held.RRset.Ttl, held.RRset.Data), TrustRank.AuthoritativeAnswer,
            ValidationState.Secure, held.Signatures);
        Assert.Null(recursor.KeySets.Find(N("example."), cache, null));
        // An unchecked copy is not secure: nothing derived from it is kept either.
        cache.Store(new RRset(held.RRset.Name, held.RRset.Type, held.RRset.Class, held.RRset.Ttl, held.RRset.Data), TrustRank.AuthoritativeAnswer,
            ValidationState.Unchecked, held.Signatures);
        Assert.True((await Ask(recursor, "ns.example.")).Has(HeaderFlags.AD));
        Assert.Equal(ValidationState.Secure, recursor.KeySets.Find(N("example."), cache, null)?.Keys.State);
    }

    [Fact]
    public async Task A_key_rollover_the_DS_does_not_match_is_bogus_once_the_cached_DNSKEY_expires_although_the_old_key_set_was_kept()
    {
        var recursor = Recursor();
        Assert.True((await Ask(recursor, "www.example.")).Has(HeaderFlags.AD));

        // example. now serves and signs with a key its DS (still cached from the root) does not match.
        var stranger = new Kit.Ed25519Key();
        _example.Records.RemoveAll(r => r.Type is RRType.DNSKEY or RRType.RRSIG);
        _example.Records.Add(new ResourceRecord(N("example."), RRClass.IN, 3600, stranger.Dnskey()));
        Sign(_example, stranger);
        _clock.Advance(TimeSpan.FromSeconds(3601));

        var answer = await Ask(recursor, "www.example.");
        Assert.Equal(Rcode.ServFail, answer.Rcode);
        Assert.False(answer.Has(HeaderFlags.AD));
    }

    [Fact]
    public async Task The_table_starts_again_when_full_and_keeps_no_insecure_result()
    {
        var cache = new RecordCache(_clock);
        var recursor = Recursor(cache: cache);
        Assert.True((await Ask(recursor, "www.example.")).Has(HeaderFlags.AD));
        var keySets = new ValidatedKeySets(capacity: 1);
        foreach (var zone in (DnsName[])[DnsName.Root, N("example.")])
        {
            var anchor = Anchors.Get(zone);
            var (dnskey, dnskeySigs) = Held(cache, zone, RRType.DNSKEY);
            var (ds, dsSigs) = anchor is null ? Held(cache, zone, RRType.DS) : (null, null);
            keySets.Remember(zone, new ZoneKeys(ValidationState.Insecure, []), null, anchor, cache, ds, dsSigs, dnskey, dnskeySigs);
            Assert.Null(keySets.Find(zone, cache, anchor));
            keySets.Remember(zone, new ZoneKeys(ValidationState.Secure, []), DnsName.Root, anchor, cache, ds, dsSigs, dnskey, dnskeySigs);
            Assert.NotNull(keySets.Find(zone, cache, anchor));
            Assert.Equal(1, keySets.Count);
            // Another anchor object (a reloaded configuration) is not what the root's key set came from.
            if (anchor is not null) Assert.Null(keySets.Find(zone, cache, new TrustAnchor(zone)));
        }
    }

    private static (List<ResourceRecord>, List<RrsigData>) Held(RecordCache cache, DnsName owner, RRType type)
    {
        var held = cache.Get(owner, type, RRClass.IN)!;
        var records = new List<ResourceRecord>();
        held.AppendRecords(records);
        return (records, [.. held.Signatures]);
    }
}
