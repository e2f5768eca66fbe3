using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace Ananas.Dns.Wire;

/// <summary>How <see cref="WireWriter"/> writes names.</summary>
public enum NameWriteMode : byte
{
    /// <summary>Compress names where the record type allows it (RFC 1035 §4.1.4, RFC 3597 §4).</summary>
    Compressed,

    /// <summary>Never compress.</summary>
    Uncompressed,

    /// <summary>DNSSEC canonical form (RFC 4034 §6.2): no compression, lowercase where the type says so.</summary>
    Canonical,
}

/// <summary>
/// Writes a DNS message into a caller-supplied buffer. Running past <see cref="Limit"/> sets
/// <see cref="Overflowed"/> and stops writing; the caller can roll back to a mark and set TC
/// (no exceptions on the truncation path). Keeps a fixed-size table of name offsets for compression,
/// so writing allocates nothing.
/// </summary>
public ref struct WireWriter
{
    private const int MaxCompressionEntries = 128;

    private readonly Span<byte> _buffer;
    private CompressionTable _table;
    private int _tableCount;
    private RecentNames _recent;
    private int _recentCount;

    public WireWriter(Span<byte> buffer, NameWriteMode mode = NameWriteMode.Compressed, int limit = int.MaxValue)
    {
        _buffer = buffer;
        Mode = mode;
        Limit = Math.Min(limit, buffer.Length);
        Position = 0;
        Overflowed = false;
        _tableCount = 0;
        _recentCount = 0;
    }

    public NameWriteMode Mode { get; }

    /// <summary>Maximum message size; writes beyond it set <see cref="Overflowed"/>.</summary>
    public int Limit { get; set; }

    public int Position { get; private set; }

    public bool Overflowed { get; private set; }

    /// <summary>The bytes written so far.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer[..Position];

    /// <summary>A point to roll back to (position and compression state).</summary>
    public readonly WriterMark Mark() => new(Position, _tableCount);

    /// <summary>Forgets everything written after <paramref name="mark"/> and clears the overflow flag.</summary>
    public void Rollback(WriterMark mark)
    {
        Position = mark.Position;
        _tableCount = mark.CompressionEntries;
        Overflowed = false;
        // Forget whole names written after the mark (they are no longer in the buffer).
        for (int i = 0; i < Math.Min(_recentCount, RecentSize); i++)
        {
            if (_recent[i].Offset >= Position) _recent[i] = default;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool Reserve(int count)
    {
        if (Overflowed || Limit - Position < count) { Overflowed = true; return false; }
        return true;
    }

    public void WriteByte(byte value)
    {
        if (Reserve(1)) _buffer[Position++] = value;
    }

    public void WriteUInt16(ushort value)
    {
        if (!Reserve(2)) return;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer[Position..], value);
        Position += 2;
    }

    public void WriteUInt32(uint value)
    {
        if (!Reserve(4)) return;
        BinaryPrimitives.WriteUInt32BigEndian(_buffer[Position..], value);
        Position += 4;
    }

    public void WriteBytes(scoped ReadOnlySpan<byte> bytes)
    {
        if (!Reserve(bytes.Length)) return;
        bytes.CopyTo(_buffer[Position..]);
        Position += bytes.Length;
    }

    /// <summary>Writes <paramref name="count"/> zero octets (padding).</summary>
    public void WriteZeros(int count)
    {
        if (count < 0 || !Reserve(count)) return;
        _buffer.Slice(Position, count).Clear();
        Position += count;
    }

    /// <summary>Writes a one-octet length and the bytes (a DNS character-string, at most 255 octets).</summary>
    public void WriteCharacterString(scoped ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length > 255) throw new DnsFormatException("character-string longer than 255 octets");
        WriteByte((byte)bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>Overwrites a 16-bit value at an earlier position (RDLENGTH, counts).</summary>
    public void PatchUInt16(int position, ushort value)
    {
        if (position + 2 <= Position) BinaryPrimitives.WriteUInt16BigEndian(_buffer[position..], value);
    }

    /// <summary>
    /// Writes a name. <paramref name="compressible"/>: the record type allows compression of this name
    /// (only the RFC 1035 types do). <paramref name="lowercaseInCanonical"/>: the type's canonical form
    /// lowercases this name (RFC 4034 §6.2 as amended by RFC 6840 §5.1).
    /// </summary>
    public void WriteName(DnsName name, bool compressible = false, bool lowercaseInCanonical = true) =>
        WriteName(name.Wire, name, compressible, lowercaseInCanonical);

    /// <summary>
    /// Writes a name given in uncompressed wire form (a span of a stored value or of the query), compressing
    /// it against earlier names like <see cref="WriteName(DnsName, bool, bool)"/>, without needing a
    /// <see cref="DnsName"/> object. The caller guarantees <paramref name="wire"/> is a well-formed name.
    /// </summary>
    public void WriteName(scoped ReadOnlySpan<byte> wire, bool compressible) => WriteName(wire, null, compressible, lowercaseInCanonical: true);

    private void WriteName(scoped ReadOnlySpan<byte> wire, DnsName? name, bool compressible, bool lowercaseInCanonical)
    {
        switch (Mode)
        {
            case NameWriteMode.Canonical:
                if (!Reserve(wire.Length)) return;
                wire.CopyTo(_buffer[Position..]);
                if (lowercaseInCanonical) DnsName.LowerInPlace(_buffer.Slice(Position, wire.Length));
                Position += wire.Length;
                return;
            case NameWriteMode.Uncompressed:
                WriteBytes(wire);
                return;
        }

        int pos = 0;
        // Only names completely written before this one may be pointer targets: the labels of this name
        // are not terminated yet (the bytes after them are stale), and readers require every pointer to
        // point before the start of the name that contains it.
        int nameStart = Position;
        // Owner names are usually the very DnsName instance written just before (the question name, the
        // CNAME target): point at it without searching the suffix table.
        if (compressible && name is not null)
        {
            int recent = FindRecent(name);
            if (recent >= 0)
            {
                WriteUInt16((ushort)(0xC000 | recent));
                return;
            }
        }
        while (wire[pos] != 0)
        {
            var suffix = wire[pos..];
            if (compressible)
            {
                int target = FindSuffix(suffix, nameStart);
                if (target >= 0)
                {
                    WriteUInt16((ushort)(0xC000 | target));
                    // A name that is one pointer decodes exactly like the name at the target.
                    if (pos == 0 && !Overflowed && name is not null) AddRecent(name, target);
                    return;
                }
            }
            int len = wire[pos];
            if (!Reserve(len + 1)) return;
            // Remember where this suffix starts so that later names can point at it.
            if (Position <= 0x3FFF && _tableCount < MaxCompressionEntries) _table[_tableCount++] = (ushort)Position;
            wire.Slice(pos, len + 1).CopyTo(_buffer[Position..]);
            Position += len + 1;
            pos += len + 1;
        }
        WriteByte(0);
        if (!Overflowed && nameStart <= 0x3FFF && name is not null) AddRecent(name, nameStart);
    }

    private const int RecentSize = 8;

    private readonly int FindRecent(DnsName name)
    {
        for (int i = 0; i < Math.Min(_recentCount, RecentSize); i++)
        {
            if (ReferenceEquals(_recent[i].Name, name)) return _recent[i].Offset;
        }
        return -1;
    }

    private void AddRecent(DnsName name, int offset)
    {
        _recent[_recentCount % RecentSize] = new RecentName(name, offset);
        _recentCount++;
    }

    private readonly record struct RecentName(DnsName? Name, int Offset);

    [InlineArray(RecentSize)]
    private struct RecentNames
    {
        private RecentName _element;
    }

    /// <summary>Finds an offset below <paramref name="before"/> where exactly <paramref name="suffix"/> was written.</summary>
    private readonly int FindSuffix(ReadOnlySpan<byte> suffix, int before)
    {
        // Entries are appended in increasing position order (rollback only truncates).
        for (int i = 0; i < _tableCount; i++)
        {
            int offset = _table[i];
            if (offset >= before) break;
            if (NameAtEquals(offset, suffix)) return offset;
        }
        return -1;
    }

    /// <summary>Compares the (possibly compressed) name written at <paramref name="offset"/> with an uncompressed name.</summary>
    private readonly bool NameAtEquals(int offset, ReadOnlySpan<byte> name)
    {
        int p = offset, q = 0;
        for (int hops = 0; hops < 64;)
        {
            byte len = _buffer[p];
            if ((len & 0xC0) == 0xC0)
            {
                p = ((len & 0x3F) << 8) | _buffer[p + 1];
                hops++;
                continue;
            }
            if (len != name[q]) return false;
            if (len == 0) return true;
            if (!DnsName.EqualsIgnoreCase(_buffer.Slice(p + 1, len), name.Slice(q + 1, len))) return false;
            p += len + 1;
            q += len + 1;
        }
        return false;
    }

    [InlineArray(MaxCompressionEntries)]
    private struct CompressionTable
    {
        private ushort _element;
    }
}

/// <summary>A saved writer state for <see cref="WireWriter.Rollback"/>.</summary>
public readonly record struct WriterMark(int Position, int CompressionEntries);
