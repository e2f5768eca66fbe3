using System.Buffers.Binary;

namespace Ananas.Sandbox.Crypto;

/// <summary>
/// The host's HPKE private keys for one plugin, published as Oblivious DoH configurations (RFC 9230 §6): the
/// current key and, after a rotation, the previous one for a grace period (clients holding the old
/// configuration keep being answered). Guests refer to a key by its key id and never see the private key.
/// </summary>
public sealed class HpkeKeySet
{
    /// <summary>ObliviousDoHConfig.version of RFC 9230.</summary>
    public const ushort OdohVersion = 0x0001;

    /// <summary>One key pair with its published configuration.</summary>
    public sealed class Key
    {
        internal Key(byte[] privateKey, byte[] publicKey, HpkeAead aead, DateTimeOffset created)
        {
            PrivateKey = privateKey;
            PublicKey = publicKey;
            Aead = aead;
            Created = created;
            Contents = ConfigContents(aead, publicKey);
            KeyId = OdohKeyId(Contents);
        }

        internal byte[] PrivateKey { get; }
        public byte[] PublicKey { get; }
        public HpkeAead Aead { get; }
        public DateTimeOffset Created { get; }
        /// <summary>ObliviousDoHConfigContents: kem_id, kdf_id, aead_id, public_key&lt;1..2^16-1&gt;.</summary>
        public byte[] Contents { get; }
        /// <summary>Expand(Extract("", config), "odoh key id", Nh) (RFC 9230 §6.2).</summary>
        public byte[] KeyId { get; }
        /// <summary>When a newer key replaced this one; null while it is current.</summary>
        public DateTimeOffset? Retired { get; internal set; }
    }

    private readonly object _gate = new();
    private readonly Func<DateTimeOffset> _clock;
    private volatile Key[] _keys;   // current first

    /// <param name="rotation">A new key after this long (zero: never rotated by time).</param>
    /// <param name="grace">How long a replaced key still opens queries.</param>
    /// <param name="seed">Derives the first key deterministically (DeriveKeyPair); null for a random key.</param>
    public HpkeKeySet(HpkeAead aead = HpkeAead.Aes128Gcm, TimeSpan rotation = default, TimeSpan grace = default, byte[]? seed = null, Func<DateTimeOffset>? clock = null)
    {
        if (!Hpke.IsSupported((ushort)aead)) throw new ArgumentException($"HPKE AEAD {aead} is not supported on this platform", nameof(aead));
        if (rotation < TimeSpan.Zero || grace < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(rotation), "rotation and grace must not be negative");
        Aead = aead;
        Rotation = rotation;
        Grace = grace;
        _clock = clock ?? (() => DateTimeOffset.UtcNow);
        var (sk, pk) = seed is null ? Hpke.GenerateKeyPair() : Hpke.DeriveKeyPair(seed);
        _keys = [new Key(sk, pk, aead, _clock())];
    }

    public HpkeAead Aead { get; }
    public TimeSpan Rotation { get; }
    public TimeSpan Grace { get; }

    /// <summary>Keys that open queries now, current first (rotates and expires by the clock first).</summary>
    public IReadOnlyList<Key> Keys
    {
        get
        {
            Tend();
            return _keys;
        }
    }

    public Key Current => Keys[0];

    /// <summary>A new current key; the previous one stays valid for <see cref="Grace"/>.</summary>
    public Key Rotate()
    {
        lock (_gate)
        {
            var now = _clock();
            var (sk, pk) = Hpke.GenerateKeyPair();
            var key = new Key(sk, pk, Aead, now);
            _keys[0].Retired = now;
            var kept = new List<Key> { key };
            foreach (var k in _keys)
            {
                if (now - k.Retired!.Value < Grace) kept.Add(k);
            }
            _keys = [.. kept];
            return key;
        }
    }

    /// <summary>The key with this key id, if it is current or within its grace period.</summary>
    public Key? Find(ReadOnlySpan<byte> keyId)
    {
        foreach (var k in Keys)
        {
            if (keyId.SequenceEqual(k.KeyId)) return k;
        }
        return null;
    }

    /// <summary>ObliviousDoHConfigs for /.well-known/odohconfigs: the current key only (clients should use it).</summary>
    public byte[] OdohConfigs()
    {
        var contents = Current.Contents;
        var configs = new byte[2 + 4 + contents.Length];
        BinaryPrimitives.WriteUInt16BigEndian(configs, (ushort)(4 + contents.Length));
        BinaryPrimitives.WriteUInt16BigEndian(configs.AsSpan(2), OdohVersion);
        BinaryPrimitives.WriteUInt16BigEndian(configs.AsSpan(4), (ushort)contents.Length);
        contents.CopyTo(configs, 6);
        return configs;
    }

    private void Tend()
    {
        var keys = _keys;
        var now = _clock();
        bool rotate = Rotation > TimeSpan.Zero && now - keys[0].Created >= Rotation;
        bool expire = false;
        for (int i = 1; i < keys.Length; i++) expire |= now - keys[i].Retired!.Value >= Grace;
        if (rotate) Rotate();
        else if (expire)
        {
            lock (_gate)
            {
                var kept = new List<Key> { _keys[0] };
                for (int i = 1; i < _keys.Length; i++)
                {
                    if (now - _keys[i].Retired!.Value < Grace) kept.Add(_keys[i]);
                }
                _keys = [.. kept];
            }
        }
    }

    public static byte[] ConfigContents(HpkeAead aead, byte[] publicKey)
    {
        var contents = new byte[8 + publicKey.Length];
        BinaryPrimitives.WriteUInt16BigEndian(contents, Hpke.KemX25519Sha256);
        BinaryPrimitives.WriteUInt16BigEndian(contents.AsSpan(2), Hpke.KdfHkdfSha256);
        BinaryPrimitives.WriteUInt16BigEndian(contents.AsSpan(4), (ushort)aead);
        BinaryPrimitives.WriteUInt16BigEndian(contents.AsSpan(6), (ushort)publicKey.Length);
        publicKey.CopyTo(contents, 8);
        return contents;
    }

    public static byte[] OdohKeyId(ReadOnlySpan<byte> contents)
    {
        var id = new byte[Hpke.Length];
        Hpke.Expand(Hpke.Extract([], contents), "odoh key id"u8, id);
        return id;
    }
}
