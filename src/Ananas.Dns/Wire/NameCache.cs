using System.Runtime.CompilerServices;

namespace Ananas.Dns.Wire;

/// <summary>
/// The last few names a <see cref="WireReader"/> decoded, keyed by the message offset they start at, so
/// that a compression pointer to one of them returns the same <see cref="DnsName"/> instead of a copy.
/// A fixed ring: no allocation, and a lookup is a short linear scan.
/// </summary>
internal struct NameCache
{
    private const int Size = 8;

    private Offsets _offsets;
    private Names _names;
    private int _count;

    public readonly bool TryGet(int offset, out DnsName name)
    {
        int n = Math.Min(_count, Size);
        for (int i = 0; i < n; i++)
        {
            // Offsets are stored plus one so that the zeroed table matches nothing.
            if (_offsets[i] == offset + 1) { name = _names[i]!; return true; }
        }
        name = null!;
        return false;
    }

    public void Add(int offset, DnsName name)
    {
        int slot = _count % Size;
        _offsets[slot] = offset + 1;
        _names[slot] = name;
        _count++;
    }

    [InlineArray(Size)]
    private struct Offsets
    {
        private int _element;
    }

    [InlineArray(Size)]
    private struct Names
    {
        private DnsName? _element;
    }
}
