using Ananas.Authoritative.Store;
using Ananas.Dns;
using LightningDB;

namespace Ananas.Authoritative.Signing;

/// <summary>
/// The <c>keys</c> table of the edge store (layout version 2): key the apex in lowercase wire form (as in
/// <c>zones</c>), value the zone's signing keys (<see cref="SigningKey.EncodeList"/>). A zone with a row here is
/// signed. Every change bumps the store's generation, so a running server picks it up with the zone index.
/// </summary>
public static class KeyTable
{
    /// <summary>At most this many keys per zone (a rollover needs two per algorithm).</summary>
    public const int MaxKeysPerZone = 8;

    /// <summary>The keys of every zone that has some, by lowercase apex wire form (read inside <paramref name="txn"/>).</summary>
    internal static Dictionary<byte[], List<SigningKey>> ReadAll(EdgeStore store, LightningTransaction txn)
    {
        var all = new Dictionary<byte[], List<SigningKey>>(WireNameComparer.Instance);
        using var cursor = txn.CreateCursor(store.Keys);
        var (code, _, _) = cursor.First();
        while (code == MDBResultCode.Success)
        {
            var (_, key, value) = cursor.GetCurrent();
            all[key.CopyToNewArray()] = SigningKey.DecodeList(value.CopyToNewArray());
            (code, _, _) = cursor.Next();
        }
        return all;
    }

    /// <summary>The keys of one zone (empty when it is not signed).</summary>
    public static List<SigningKey> Read(EdgeStore store, DnsName apex)
    {
        using var txn = store.BeginRead();
        var (code, _, value) = txn.Get(store.Keys, apex.ToLowerCase().Wire);
        return code == MDBResultCode.Success ? SigningKey.DecodeList(value.CopyToNewArray()) : [];
    }

    /// <summary>Adds a new key of <paramref name="algorithm"/> to a zone the store holds; the zone is signed from then on.</summary>
    public static SigningKey Generate(EdgeStore store, DnsName apex, byte algorithm, DateTimeOffset now) =>
        Add(store, apex, SigningKey.Generate(algorithm, now.ToUnixTimeSeconds()));

    /// <summary>Adds <paramref name="key"/> to the zone's keys in one write transaction.</summary>
    public static SigningKey Add(EdgeStore store, DnsName apex, SigningKey key)
    {
        var apexKey = apex.ToLowerCase().Wire.ToArray();
        using var txn = store.BeginWrite();
        var (zoneCode, _, _) = txn.Get(store.Zones, apexKey);
        if (zoneCode != MDBResultCode.Success) throw new KeyTableException($"the store holds no zone {apex}: import it first");
        var (code, _, value) = txn.Get(store.Keys, apexKey);
        var keys = code == MDBResultCode.Success ? SigningKey.DecodeList(value.CopyToNewArray()) : [];
        if (keys.Count >= MaxKeysPerZone) throw new KeyTableException($"zone {apex} already has {keys.Count} keys, the most allowed");
        if (keys.Exists(k => k.KeyTag == key.KeyTag && k.Algorithm == key.Algorithm))
            throw new KeyTableException($"zone {apex} already has a key with tag {key.KeyTag} and algorithm {key.Algorithm}");
        keys.Add(key);
        txn.Put(store.Keys, apexKey, SigningKey.EncodeList(keys)).ThrowOnError();
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
        return key;
    }

    /// <summary>Removes the key with <paramref name="keyTag"/>; the zone is unsigned once its last key is gone. False if there is no such key.</summary>
    public static bool Remove(EdgeStore store, DnsName apex, ushort keyTag)
    {
        var apexKey = apex.ToLowerCase().Wire.ToArray();
        using var txn = store.BeginWrite();
        var (code, _, value) = txn.Get(store.Keys, apexKey);
        if (code != MDBResultCode.Success) return false;
        var keys = SigningKey.DecodeList(value.CopyToNewArray());
        if (keys.RemoveAll(k => k.KeyTag == keyTag) == 0) return false;
        if (keys.Count == 0) txn.Delete(store.Keys, apexKey).ThrowOnError();
        else txn.Put(store.Keys, apexKey, SigningKey.EncodeList(keys)).ThrowOnError();
        store.BumpGeneration(txn);
        txn.Commit().ThrowOnError();
        return true;
    }
}

/// <summary>A key operation the store refuses (no such zone, too many keys): the message is for the operator.</summary>
public sealed class KeyTableException(string message) : Exception(message);
