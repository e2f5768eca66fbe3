using System.Buffers;
using System.Text;

namespace Ananas.Dns;

/// <summary>
/// An absolute domain name, held in uncompressed wire form (length-prefixed labels ending in the
/// root label). Immutable. Equality and hashing ignore ASCII case (RFC 4343); the original case is
/// kept so that it can be echoed (0x20) and printed. Ordering is the DNSSEC canonical order (RFC 4034 §6.1).
/// </summary>
public sealed class DnsName : IEquatable<DnsName>, IComparable<DnsName>
{
    /// <summary>Longest name on the wire, including length octets and the root label (RFC 1035 §3.1).</summary>
    public const int MaxWireLength = 255;

    /// <summary>Longest single label (RFC 1035 §2.3.4).</summary>
    public const int MaxLabelLength = 63;

    /// <summary>Most labels a name can have (not counting the root): 127 one-letter labels.</summary>
    public const int MaxLabels = 127;

    private static readonly SearchValues<char> EscapedInPresentation = SearchValues.Create(".\\\"()@;$ ");

    public static readonly DnsName Root = new([0], 0);

    private readonly byte[] _wire;

    // Computed on first use: many names parsed from packets are never hashed. 0 means "not yet"; a real
    // hash of 0 is just recomputed. Racing threads compute the same value, so no lock is needed.
    private int _hash;

    private DnsName(byte[] wire, int labelCount)
    {
        _wire = wire;
        LabelCount = labelCount;
    }

    /// <summary>Number of labels, not counting the root. The root name has 0.</summary>
    public int LabelCount { get; }

    /// <summary>Length of the uncompressed wire form, including the root label.</summary>
    public int WireLength => _wire.Length;

    /// <summary>The uncompressed wire form, in the original letter case.</summary>
    public ReadOnlySpan<byte> Wire => _wire;

    public bool IsRoot => LabelCount == 0;

    /// <summary>Builds a name from uncompressed wire bytes, validating label and total lengths.</summary>
    public static DnsName FromWire(ReadOnlySpan<byte> wire)
    {
        int labels = ValidateWire(wire, out int length);
        if (length != wire.Length)
            throw new DnsFormatException("trailing bytes after the root label of a name");
        return labels == 0 ? Root : new DnsName(wire.ToArray(), labels);
    }

    /// <summary>
    /// Checks that <paramref name="wire"/> starts with a well-formed uncompressed name; returns its label
    /// count and sets <paramref name="length"/> to its wire length.
    /// </summary>
    internal static int ValidateWire(ReadOnlySpan<byte> wire, out int length)
    {
        int pos = 0, labels = 0;
        while (true)
        {
            if (pos >= wire.Length) throw new DnsFormatException("name runs past the end of its data");
            int len = wire[pos];
            if (len == 0) { length = pos + 1; break; }
            if (len > MaxLabelLength) throw new DnsFormatException($"label of {len} octets (or a compression pointer) where an uncompressed label was expected");
            pos += len + 1;
            labels++;
            if (pos >= MaxWireLength) throw new DnsFormatException("name longer than 255 octets");
        }
        return labels;
    }

    /// <summary>Takes ownership of an already validated wire array.</summary>
    internal static DnsName FromValidatedWire(byte[] wire, int labelCount) =>
        labelCount == 0 ? Root : new DnsName(wire, labelCount);

    /// <summary>
    /// Parses a name in presentation format (RFC 1035 §5.1: <c>\.</c>, <c>\\</c>, <c>\DDD</c> escapes).
    /// A name without a trailing dot is relative to <paramref name="origin"/>, or absolute when no origin is given.
    /// </summary>
    public static DnsName Parse(ReadOnlySpan<char> text, DnsName? origin = null)
    {
        if (!TryParse(text, origin, out var name, out var error))
            throw new DnsFormatException($"bad name '{text.ToString()}': {error}");
        return name;
    }

    public static DnsName Parse(string text) => Parse(text.AsSpan(), null);

    public static bool TryParse(ReadOnlySpan<char> text, DnsName? origin, out DnsName name, out string error)
    {
        name = Root;
        if (text.IsEmpty) { error = "empty name"; return false; }
        if (text.Length == 1 && text[0] == '.') { error = ""; return true; }

        Span<byte> buffer = stackalloc byte[MaxWireLength + 1];
        // labelStart: index of the current label's length octet; pos: next free index.
        int labelStart = 0, pos = 1, labels = 0;
        bool absolute = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '.')
            {
                int labelLength = pos - labelStart - 1;
                if (labelLength == 0) { error = "empty label"; return false; }
                buffer[labelStart] = (byte)labelLength;
                labels++;
                labelStart = pos;
                pos = labelStart + 1;
                if (i == text.Length - 1) { absolute = true; break; }
                continue;
            }
            byte b;
            if (c == '\\')
            {
                if (++i >= text.Length) { error = "dangling escape"; return false; }
                char e = text[i];
                if (char.IsAsciiDigit(e))
                {
                    if (i + 2 >= text.Length || !char.IsAsciiDigit(text[i + 1]) || !char.IsAsciiDigit(text[i + 2]))
                    { error = "\\DDD escape needs three digits"; return false; }
                    int v = (e - '0') * 100 + (text[i + 1] - '0') * 10 + (text[i + 2] - '0');
                    if (v > 255) { error = "\\DDD escape above 255"; return false; }
                    b = (byte)v;
                    i += 2;
                }
                else
                {
                    if (e > 0x7F) { error = "non-ASCII character"; return false; }
                    b = (byte)e;
                }
            }
            else
            {
                if (c > 0x7F) { error = "non-ASCII character"; return false; }
                b = (byte)c;
            }
            if (pos - labelStart - 1 >= MaxLabelLength) { error = "label longer than 63 octets"; return false; }
            if (pos >= MaxWireLength) { error = "name longer than 255 octets"; return false; }
            buffer[pos++] = b;
        }
        if (!absolute)
        {
            int labelLength = pos - labelStart - 1;
            if (labelLength == 0) { error = "empty label"; return false; }
            buffer[labelStart] = (byte)labelLength;
            labels++;
            labelStart = pos;
        }

        // labelStart is now where the terminating root label (or the origin) goes.
        ReadOnlySpan<byte> suffix = absolute || origin is null ? [0] : origin._wire;
        int total = labelStart + suffix.Length;
        if (total > MaxWireLength) { error = "name longer than 255 octets"; return false; }
        var wire = new byte[total];
        buffer[..labelStart].CopyTo(wire);
        suffix.CopyTo(wire.AsSpan(labelStart));
        name = new DnsName(wire, labels + (absolute || origin is null ? 0 : origin.LabelCount));
        error = "";
        return true;
    }

    /// <summary>Label <paramref name="index"/> counted from the left (0 is the leftmost, most specific label).</summary>
    public ReadOnlySpan<byte> GetLabel(int index)
    {
        if ((uint)index >= (uint)LabelCount) throw new ArgumentOutOfRangeException(nameof(index));
        int pos = 0;
        for (int i = 0; i < index; i++) pos += _wire[pos] + 1;
        return _wire.AsSpan(pos + 1, _wire[pos]);
    }

    /// <summary>The name with its leftmost label removed. The root has no parent.</summary>
    public DnsName Parent
    {
        get
        {
            if (IsRoot) throw new InvalidOperationException("the root name has no parent");
            return FromValidatedWire(_wire.AsSpan(_wire[0] + 1).ToArray(), LabelCount - 1);
        }
    }

    /// <summary>The ancestor made of the rightmost <paramref name="labelCount"/> labels (0 gives the root).</summary>
    public DnsName GetAncestor(int labelCount)
    {
        if ((uint)labelCount > (uint)LabelCount) throw new ArgumentOutOfRangeException(nameof(labelCount));
        if (labelCount == LabelCount) return this;
        if (labelCount == 0) return Root;
        int pos = OffsetOfLabel(LabelCount - labelCount);
        return FromValidatedWire(_wire.AsSpan(pos).ToArray(), labelCount);
    }

    /// <summary>True when this name equals <paramref name="ancestor"/> or lies below it.</summary>
    public bool IsSubdomainOf(DnsName ancestor)
    {
        int skip = LabelCount - ancestor.LabelCount;
        if (skip < 0) return false;
        int pos = OffsetOfLabel(skip);
        return EqualsIgnoreCase(_wire.AsSpan(pos), ancestor._wire);
    }

    /// <summary>True when this name lies strictly below <paramref name="ancestor"/>.</summary>
    public bool IsStrictSubdomainOf(DnsName ancestor) => LabelCount > ancestor.LabelCount && IsSubdomainOf(ancestor);

    /// <summary>Number of rightmost labels the two names share.</summary>
    public int CommonSuffixLabels(DnsName other)
    {
        int n = Math.Min(LabelCount, other.LabelCount);
        while (n > 0 && !GetAncestor(n).Equals(other.GetAncestor(n))) n--;
        return n;
    }

    /// <summary>A new name with <paramref name="label"/> added on the left.</summary>
    public DnsName Prepend(ReadOnlySpan<byte> label)
    {
        if (label.Length is 0 or > MaxLabelLength) throw new DnsFormatException("label must be 1 to 63 octets");
        if (_wire.Length + label.Length + 1 > MaxWireLength) throw new DnsFormatException("name longer than 255 octets");
        var wire = new byte[_wire.Length + label.Length + 1];
        wire[0] = (byte)label.Length;
        label.CopyTo(wire.AsSpan(1));
        _wire.CopyTo(wire.AsSpan(label.Length + 1));
        return new DnsName(wire, LabelCount + 1);
    }

    public DnsName Prepend(string label) => Prepend(Encoding.ASCII.GetBytes(label));

    /// <summary>
    /// Replaces the suffix <paramref name="oldSuffix"/> with <paramref name="newSuffix"/> (DNAME substitution).
    /// Returns null when the result would exceed 255 octets (the caller answers YXDOMAIN).
    /// </summary>
    public DnsName? ReplaceSuffix(DnsName oldSuffix, DnsName newSuffix)
    {
        if (!IsSubdomainOf(oldSuffix)) throw new ArgumentException("name is not below the old suffix", nameof(oldSuffix));
        int prefixLength = OffsetOfLabel(LabelCount - oldSuffix.LabelCount);
        int total = prefixLength + newSuffix._wire.Length;
        if (total > MaxWireLength) return null;
        var wire = new byte[total];
        _wire.AsSpan(0, prefixLength).CopyTo(wire);
        newSuffix._wire.CopyTo(wire.AsSpan(prefixLength));
        return FromValidatedWire(wire, LabelCount - oldSuffix.LabelCount + newSuffix.LabelCount);
    }

    /// <summary>True when the leftmost label is <c>*</c> (a wildcard owner, RFC 4592).</summary>
    public bool IsWildcard => LabelCount > 0 && _wire[0] == 1 && _wire[1] == (byte)'*';

    /// <summary>The same name with ASCII letters lowered (the canonical form, RFC 4034 §6.2).</summary>
    public DnsName ToLowerCase()
    {
        if (!HasUpperCase(_wire)) return this;
        var wire = _wire.ToArray();
        LowerInPlace(wire);
        return new DnsName(wire, LabelCount);
    }

    /// <summary>Writes the lowercase wire form into <paramref name="destination"/>; returns the length.</summary>
    public int CopyLowerCaseTo(Span<byte> destination)
    {
        _wire.CopyTo(destination);
        LowerInPlace(destination[.._wire.Length]);
        return _wire.Length;
    }

    private int OffsetOfLabel(int index)
    {
        int pos = 0;
        for (int i = 0; i < index; i++) pos += _wire[pos] + 1;
        return pos;
    }

    public bool Equals(DnsName? other) =>
        other is not null && (ReferenceEquals(this, other) ||
                              (_wire.Length == other._wire.Length && EqualsIgnoreCase(_wire, other._wire)));

    public override bool Equals(object? obj) => obj is DnsName other && Equals(other);

    public override int GetHashCode()
    {
        int h = _hash;
        if (h == 0) _hash = h = ComputeHash(_wire);
        return h;
    }

    /// <summary>Case-sensitive equality, label by label (used for 0x20 checks).</summary>
    public bool EqualsExactCase(DnsName other) => _wire.AsSpan().SequenceEqual(other._wire);

    public static bool operator ==(DnsName? a, DnsName? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(DnsName? a, DnsName? b) => !(a == b);

    /// <summary>Canonical DNS name order (RFC 4034 §6.1): by labels from the right, each compared as lowercase octets.</summary>
    public int CompareTo(DnsName? other)
    {
        if (other is null) return 1;
        if (ReferenceEquals(this, other)) return 0;
        Span<int> mine = stackalloc int[MaxLabels + 1];
        Span<int> theirs = stackalloc int[MaxLabels + 1];
        LabelOffsets(_wire, mine);
        LabelOffsets(other._wire, theirs);
        int a = LabelCount - 1, b = other.LabelCount - 1;
        for (; a >= 0 && b >= 0; a--, b--)
        {
            var la = _wire.AsSpan(mine[a] + 1, _wire[mine[a]]);
            var lb = other._wire.AsSpan(theirs[b] + 1, other._wire[theirs[b]]);
            int n = Math.Min(la.Length, lb.Length);
            for (int i = 0; i < n; i++)
            {
                int d = ToLower(la[i]) - ToLower(lb[i]);
                if (d != 0) return d;
            }
            if (la.Length != lb.Length) return la.Length - lb.Length;
        }
        return LabelCount - other.LabelCount;
    }

    private static void LabelOffsets(ReadOnlySpan<byte> wire, Span<int> offsets)
    {
        int pos = 0, i = 0;
        while (wire[pos] != 0) { offsets[i++] = pos; pos += wire[pos] + 1; }
    }

    /// <summary>Presentation format with a trailing dot and RFC 1035 escapes.</summary>
    public override string ToString()
    {
        if (IsRoot) return ".";
        var sb = new StringBuilder(_wire.Length + 4);
        AppendTo(sb);
        return sb.ToString();
    }

    /// <summary>Appends the presentation format (with trailing dot) to <paramref name="sb"/>.</summary>
    public void AppendTo(StringBuilder sb)
    {
        if (IsRoot) { sb.Append('.'); return; }
        int pos = 0;
        while (_wire[pos] != 0)
        {
            int len = _wire[pos];
            AppendLabel(sb, _wire.AsSpan(pos + 1, len));
            sb.Append('.');
            pos += len + 1;
        }
    }

    internal static void AppendLabel(StringBuilder sb, ReadOnlySpan<byte> label)
    {
        foreach (byte b in label)
        {
            if (b < 0x21 || b > 0x7E) sb.Append('\\').Append((b / 100) % 10).Append((b / 10) % 10).Append(b % 10);
            else if (EscapedInPresentation.Contains((char)b)) sb.Append('\\').Append((char)b);
            else sb.Append((char)b);
        }
    }

    internal static bool EqualsIgnoreCase(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
        {
            if (a[i] != b[i] && ToLower(a[i]) != ToLower(b[i])) return false;
        }
        return true;
    }

    internal static byte ToLower(byte b) => (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;

    internal static void LowerInPlace(Span<byte> bytes)
    {
        for (int i = 0; i < bytes.Length; i++) bytes[i] = ToLower(bytes[i]);
    }

    private static bool HasUpperCase(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes) if ((uint)(b - 'A') <= 'Z' - 'A') return true;
        return false;
    }

    /// <summary>Case-insensitive hash with a per-process random seed (no hash flooding).</summary>
    internal static int ComputeHash(ReadOnlySpan<byte> wire)
    {
        Span<byte> lower = stackalloc byte[MaxWireLength];
        var slice = lower[..wire.Length];
        wire.CopyTo(slice);
        LowerInPlace(slice);
        var hash = new HashCode();
        hash.AddBytes(slice);
        return hash.ToHashCode();
    }
}
