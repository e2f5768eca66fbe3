namespace Ananas.Sandbox.Data;

/// <summary>File formats of host data tables (docs/plugins.md, "Limits and configuration").</summary>
public enum DataTableFormat
{
    /// <summary>One domain per line.</summary>
    Domains,
    /// <summary>Hosts-file block lists: <c>0.0.0.0 name [name…]</c>.</summary>
    Hosts,
    /// <summary><c>key value</c> lines.</summary>
    KeyValue,
}

/// <summary>One configured table: its name as guests see it, its format and file.</summary>
public sealed record DataTableSpec(string Name, DataTableFormat Format, string Path)
{
    /// <summary>
    /// Parses a configuration value: <c>format:path</c> (format <c>domains</c>, <c>hosts</c> or <c>kv</c>), or a
    /// bare path whose extension names the format (<c>.hosts</c>, <c>.kv</c>; anything else is a domain list).
    /// </summary>
    public static DataTableSpec Parse(string name, string value)
    {
        int colon = value.IndexOf(':');
        if (colon > 0)
        {
            string prefix = value[..colon];
            DataTableFormat? format = prefix switch
            {
                "domains" => DataTableFormat.Domains,
                "hosts" => DataTableFormat.Hosts,
                "kv" => DataTableFormat.KeyValue,
                _ => null,
            };
            if (format is { } f) return new DataTableSpec(name, f, value[(colon + 1)..]);
        }
        var byExtension = System.IO.Path.GetExtension(value).ToLowerInvariant() switch
        {
            ".hosts" => DataTableFormat.Hosts,
            ".kv" => DataTableFormat.KeyValue,
            _ => DataTableFormat.Domains,
        };
        return new DataTableSpec(name, byExtension, value);
    }
}

/// <summary>The parsed contents of one table file.</summary>
/// <param name="labelCounts">Bit n set: some key has n labels (bit 63: 63 or more); lets
/// <see cref="MatchSuffix"/> skip the suffixes no key can equal.</param>
internal sealed class DataTableContents(ByteStringTable entries, int lines, int skipped, ulong labelCounts)
{
    public ByteStringTable Entries { get; } = entries;
    public int Lines { get; } = lines;
    public int SkippedLines { get; } = skipped;

    private readonly ulong _labelCounts = labelCounts;

    public static readonly DataTableContents Empty = new(ByteStringTable.Empty, 0, 0, 0);

    /// <summary>The label-count bit of a key or name (labels = dots + 1; the empty name has none).</summary>
    private static ulong LabelBit(ReadOnlySpan<byte> name) =>
        1UL << (name.Length == 0 ? 0 : Math.Min(63, name.Count((byte)'.') + 1));

    /// <summary>
    /// Whether <paramref name="name"/> (presentation form, any case, optional final dot) or one of its parents is
    /// listed: the label count of the longest listed suffix, or -1. Allocates nothing.
    /// </summary>
    public int MatchSuffix(ReadOnlySpan<byte> name)
    {
        if (name.Length > 0 && name[^1] == (byte)'.') name = name[..^1];
        if (name.Length > 253) return -1;
        Span<byte> lower = stackalloc byte[253];
        lower = lower[..name.Length];
        int labels = name.Length == 0 ? 0 : 1;
        for (int i = 0; i < name.Length; i++)
        {
            byte b = name[i];
            lower[i] = (uint)(b - 'A') <= 'Z' - 'A' ? (byte)(b | 0x20) : b;
            if (b == (byte)'.') labels++;
        }
        // Longest first: the name itself, then each parent after a dot, then the root. Each probe is a random read
        // in a large table (a cache miss), so suffixes with a label count no key has are not looked up.
        int start = 0;
        while (start <= lower.Length && labels > 0)
        {
            if ((_labelCounts & (1UL << Math.Min(63, labels))) != 0 && Entries.Contains(lower[start..])) return labels;
            int dot = lower[start..].IndexOf((byte)'.');
            if (dot < 0) break;
            start += dot + 1;
            labels--;
        }
        return (_labelCounts & 1) != 0 && Entries.Contains([]) ? 0 : -1;
    }

    public static DataTableContents Parse(ReadOnlySpan<byte> text, DataTableFormat format)
    {
        var builder = new ByteStringTable.Builder();
        int lines = 0, skipped = 0;
        ulong labelCounts = 0;
        Span<byte> name = stackalloc byte[254];
        while (text.Length > 0)
        {
            int newline = text.IndexOf((byte)'\n');
            var line = newline < 0 ? text : text[..newline];
            text = newline < 0 ? [] : text[(newline + 1)..];
            lines++;
            int hash = line.IndexOf((byte)'#');
            if (hash >= 0) line = line[..hash];
            line = line.Trim(" \t\r"u8);
            if (line.Length == 0) continue;

            if (format == DataTableFormat.KeyValue)
            {
                int space = line.IndexOfAny(" \t"u8);
                var key = space < 0 ? line : line[..space];
                builder.Add(key, space < 0 ? default : line[space..].Trim(" \t"u8));
                labelCounts |= LabelBit(key);
                continue;
            }
            if (format == DataTableFormat.Domains)
            {
                int space = line.IndexOfAny(" \t"u8);
                if (space >= 0) line = line[..space];
                if (TryNormalizeDomain(line, name, out int length))
                {
                    builder.Add(name[..length]);
                    labelCounts |= LabelBit(name[..length]);
                }
                else skipped++;
                continue;
            }
            // Hosts: an address, then one or more names; the local names every hosts file has are not entries.
            int first = line.IndexOfAny(" \t"u8);
            if (first < 0) { skipped++; continue; }
            var rest = line[first..];
            while (true)
            {
                rest = rest.TrimStart(" \t"u8);
                if (rest.Length == 0) break;
                int end = rest.IndexOfAny(" \t"u8);
                var token = end < 0 ? rest : rest[..end];
                rest = end < 0 ? [] : rest[end..];
                if (IsLocalHostsName(token)) continue;
                if (TryNormalizeDomain(token, name, out int length))
                {
                    builder.Add(name[..length]);
                    labelCounts |= LabelBit(name[..length]);
                }
                else skipped++;
            }
        }
        return new DataTableContents(builder.Build(), lines, skipped, labelCounts);
    }

    private static bool IsLocalHostsName(ReadOnlySpan<byte> token) =>
        token.SequenceEqual("localhost"u8) || token.SequenceEqual("localhost.localdomain"u8) ||
        token.SequenceEqual("local"u8) || token.SequenceEqual("broadcasthost"u8) ||
        token.StartsWith("ip6-"u8) || token.SequenceEqual("0.0.0.0"u8);

    /// <summary>Lowercases, drops a leading <c>*.</c> and the final dot, and checks label lengths and characters.</summary>
    private static bool TryNormalizeDomain(ReadOnlySpan<byte> text, Span<byte> destination, out int length)
    {
        length = 0;
        if (text.StartsWith("*."u8)) text = text[2..];
        if (text.Length > 0 && text[^1] == (byte)'.') text = text[..^1];
        if (text.Length == 0 || text.Length > 253) return false;
        int labelLength = 0;
        foreach (byte raw in text)
        {
            byte b = (uint)(raw - 'A') <= 'Z' - 'A' ? (byte)(raw | 0x20) : raw;
            if (b == (byte)'.')
            {
                if (labelLength == 0) return false;
                labelLength = 0;
            }
            else if ((uint)(b - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b == (byte)'-' || b == (byte)'_')
            {
                if (++labelLength > 63) return false;
            }
            else
            {
                return false;
            }
            destination[length++] = b;
        }
        return labelLength > 0;
    }

    public override string ToString() => $"{Entries.Count} entries from {Lines} lines ({SkippedLines} skipped)";
}
