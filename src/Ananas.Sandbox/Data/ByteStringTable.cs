namespace Ananas.Sandbox.Data;

/// <summary>
/// An immutable hash table of byte-string keys (and optional byte-string values) packed into one array, for
/// millions of entries with few objects: lookups take a span and allocate nothing. Open addressing with linear
/// probing; each slot keeps 32 bits of the key's hash so most misses never touch the key bytes. The hash is
/// <see cref="HashCode"/>, seeded per process, so crafted names cannot force collisions.
/// </summary>
internal sealed class ByteStringTable
{
    private readonly byte[] _bytes;
    private readonly int[] _keyStart;
    private readonly int[] _valueStart;   // the value follows the key: value length = next start - value start
    private readonly int[] _end;
    private readonly long[] _slots;       // (hash << 32) | (entry index + 1); 0 = empty
    private readonly int _mask;

    public int Count { get; }

    private ByteStringTable(byte[] bytes, int[] keyStart, int[] valueStart, int[] end, int count)
    {
        _bytes = bytes;
        _keyStart = keyStart;
        _valueStart = valueStart;
        _end = end;
        Count = count;
        int capacity = 16;
        while (capacity < count * 2) capacity <<= 1;
        _slots = new long[capacity];
        _mask = capacity - 1;
        for (int i = 0; i < count; i++)
        {
            var key = _bytes.AsSpan(_keyStart[i], _valueStart[i] - _keyStart[i]);
            uint hash = Hash(key);
            int slot = (int)hash & _mask;
            while (_slots[slot] != 0) slot = (slot + 1) & _mask;
            _slots[slot] = ((long)hash << 32) | (uint)(i + 1);
        }
    }

    public static readonly ByteStringTable Empty = new Builder().Build();

    private static uint Hash(ReadOnlySpan<byte> key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return (uint)h.ToHashCode();
    }

    /// <summary>The entry index of <paramref name="key"/>, or -1.</summary>
    private int Find(ReadOnlySpan<byte> key)
    {
        uint hash = Hash(key);
        int slot = (int)hash & _mask;
        while (true)
        {
            long entry = _slots[slot];
            if (entry == 0) return -1;
            if ((uint)(entry >> 32) == hash)
            {
                int index = (int)(uint)entry - 1;
                int start = _keyStart[index];
                if (_bytes.AsSpan(start, _valueStart[index] - start).SequenceEqual(key)) return index;
            }
            slot = (slot + 1) & _mask;
        }
    }

    public bool Contains(ReadOnlySpan<byte> key) => Find(key) >= 0;

    public bool TryGetValue(ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        int index = Find(key);
        if (index < 0) { value = default; return false; }
        value = _bytes.AsSpan(_valueStart[index], _end[index] - _valueStart[index]);
        return true;
    }

    /// <summary>Collects entries (the first of duplicate keys wins) and packs them.</summary>
    public sealed class Builder
    {
        private byte[] _bytes = new byte[4096];
        private int _length;
        private int[] _keyStart = new int[256];
        private int[] _valueStart = new int[256];
        private int[] _end = new int[256];
        private readonly Dictionary<ulong, int> _byFingerprint = [];
        private int _count;

        public int Count => _count;

        public void Add(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value = default)
        {
            // Lists repeat names; a 64-bit fingerprint finds the earlier entry without storing keys twice. On a
            // (practically impossible) fingerprint collision of different keys both are kept, which is harmless.
            ulong fingerprint = Fingerprint(key);
            if (_byFingerprint.TryGetValue(fingerprint, out int earlier))
            {
                if (_bytes.AsSpan(_keyStart[earlier], _valueStart[earlier] - _keyStart[earlier]).SequenceEqual(key)) return;
            }
            else
            {
                _byFingerprint[fingerprint] = _count;
            }
            if (_count == _keyStart.Length)
            {
                Array.Resize(ref _keyStart, _count * 2);
                Array.Resize(ref _valueStart, _count * 2);
                Array.Resize(ref _end, _count * 2);
            }
            while (_length + key.Length + value.Length > _bytes.Length) Array.Resize(ref _bytes, _bytes.Length * 2);
            _keyStart[_count] = _length;
            key.CopyTo(_bytes.AsSpan(_length));
            _length += key.Length;
            _valueStart[_count] = _length;
            value.CopyTo(_bytes.AsSpan(_length));
            _length += value.Length;
            _end[_count] = _length;
            _count++;
        }

        private static ulong Fingerprint(ReadOnlySpan<byte> key)
        {
            // FNV-1a 64: only used to spot possible duplicates while building (a collision costs a scan, not a bug).
            ulong h = 14695981039346656037;
            foreach (byte b in key) h = (h ^ b) * 1099511628211;
            return h;
        }

        public ByteStringTable Build()
        {
            Array.Resize(ref _bytes, _length);
            return new ByteStringTable(_bytes, _keyStart[.._count], _valueStart[.._count], _end[.._count], _count);
        }
    }
}
