using System.Globalization;
using Tomlyn.Syntax;

namespace Ananas.Server.Configuration;

/// <summary>
/// Readers of TOML values for configuration keys: each checks the value's type and range and throws
/// <see cref="FormatException"/> with a message for the operator (the caller adds the file, line and key).
/// </summary>
public static class ConfigValues
{
    /// <summary>A <see cref="FormatException"/> about another key than the one being set (a list item: <c>listen[1]</c>), or another line.</summary>
    internal sealed class KeyedFormatException(string key, int? line, string message) : FormatException(message)
    {
        public string Key { get; } = key;
        public int? Line { get; } = line;
    }

    internal static T Parse<T>(Func<T> parse, string key, int? line = null)
    {
        try
        {
            return parse();
        }
        catch (FormatException e) when (e is not KeyedFormatException)
        {
            throw new KeyedFormatException(key, line, e.Message);
        }
    }

    public static string String(ValueSyntax value) =>
        value is StringValueSyntax s ? s.Value ?? "" : throw new FormatException($"expected a string, not {Describe(value)}");

    public static bool Boolean(ValueSyntax value) =>
        value is BooleanValueSyntax b ? b.Value : throw new FormatException($"expected true or false, not {Describe(value)}");

    public static long Integer(ValueSyntax value, long min, long max)
    {
        if (value is not IntegerValueSyntax i) throw new FormatException($"expected an integer, not {Describe(value)}");
        if (i.Value < min || i.Value > max) throw new FormatException($"{i.Value} is out of range ({min}–{max})");
        return i.Value;
    }

    /// <summary>An array of strings with each item's line; an item of another type is an error naming <c>key[i]</c>.</summary>
    public static List<(string Text, int Line)> Items(ValueSyntax value, string key)
    {
        if (value is not ArraySyntax array) throw new FormatException($"expected an array of strings, not {Describe(value)}");
        var list = new List<(string, int)>();
        int index = 0;
        foreach (var item in array.Items)
        {
            if (item.Value is not StringValueSyntax s)
                throw new KeyedFormatException($"{key}[{index}]", item.Span.Start.Line + 1, $"expected a string, not {Describe(item.Value)}");
            list.Add((s.Value ?? "", item.Span.Start.Line + 1));
            index++;
        }
        return list;
    }

    /// <summary>An array of strings, each checked by <paramref name="check"/> (errors name <c>key[i]</c> and the item's line).</summary>
    public static List<T> List<T>(ValueSyntax value, string key, Func<string, T> check) =>
        Items(value, key).Select((s, i) => Parse(() => check(s.Text), $"{key}[{i}]", s.Line)).ToList();

    public static TimeSpan Duration(ValueSyntax value, TimeSpan min, TimeSpan max)
    {
        string text = String(value);
        var d = ParseDuration(text);
        return d >= min && d <= max ? d : throw new FormatException($"'{text}' is out of range: between {Show(min)} and {Show(max)}");
    }

    /// <summary>A byte size (<c>"256MiB"</c>) or an integer of bytes, between <paramref name="min"/> and <paramref name="max"/>.</summary>
    public static long Size(ValueSyntax value, long min, long max)
    {
        if (value is IntegerValueSyntax) return Integer(value, min, max);
        string text = String(value);
        long bytes = ParseBytes(text);
        if (bytes < 0) throw new FormatException($"'{text.Trim()}' is not a size (e.g. 256MiB, 1GiB)");
        return bytes >= min && bytes <= max ? bytes : throw new FormatException($"'{text.Trim()}' is out of range: between {ShowSize(min)} and {ShowSize(max)}");
    }

    public static string Describe(ValueSyntax? value) => value switch
    {
        StringValueSyntax => "a string",
        IntegerValueSyntax => "an integer",
        BooleanValueSyntax => "a boolean",
        ArraySyntax => "an array",
        InlineTableSyntax => "a table",
        null => "nothing",
        _ => "another kind of value",
    };

    /// <summary>"5s", "1500ms", "2m", "1h", "1d"; finite and not negative (a range check follows where it is used).</summary>
    public static TimeSpan ParseDuration(string text)
    {
        text = text.Trim();
        (string unit, double scale) = text.EndsWith("ms", StringComparison.Ordinal) ? ("ms", 1.0)
            : text.EndsWith('s') ? ("s", 1000.0)
            : text.EndsWith('m') ? ("m", 60_000.0)
            : text.EndsWith('h') ? ("h", 3_600_000.0)
            : text.EndsWith('d') ? ("d", 86_400_000.0)
            : throw new FormatException($"'{text}' is not a duration (e.g. 5s, 1500ms, 2m, 1h, 1d)");
        if (!double.TryParse(text[..^unit.Length], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double n) || !double.IsFinite(n) || n < 0)
            throw new FormatException($"'{text}' is not a duration (e.g. 5s, 1500ms, 2m, 1h, 1d)");
        // Beyond a year nothing here makes sense, and far beyond it TimeSpan overflows.
        double milliseconds = n * scale;
        if (milliseconds > TimeSpan.FromDays(366).TotalMilliseconds) throw new FormatException($"'{text}' is longer than a year");
        return TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>A size with an optional KiB/MiB/GiB/TiB (or K/M/G/T) suffix, in bytes; -1 if it is not one (or overflows).</summary>
    public static long ParseBytes(string text)
    {
        text = text.Trim();
        long scale = 1;
        foreach (var (suffix, factor) in new[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40), ("K", 1L << 10), ("M", 1L << 20), ("G", 1L << 30), ("T", 1L << 40) })
        {
            if (text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                scale = factor;
                text = text[..^suffix.Length].Trim();
                break;
            }
        }
        if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n <= 0 || n > long.MaxValue / scale) return -1;
        return n * scale;
    }

    public static string Show(TimeSpan t) =>
        t == TimeSpan.Zero ? "0s"
        : t.TotalMilliseconds % 86_400_000 == 0 ? $"{t.TotalDays:0}d"
        : t.TotalMilliseconds % 3_600_000 == 0 ? $"{t.TotalHours:0}h"
        : t.TotalMilliseconds % 60_000 == 0 ? $"{t.TotalMinutes:0}m"
        : t.TotalMilliseconds % 1000 == 0 ? $"{t.TotalSeconds:0}s"
        : $"{t.TotalMilliseconds:0.###}ms";

    public static string ShowSize(long bytes) =>
        bytes % (1L << 40) == 0 ? $"{bytes >> 40}TiB"
        : bytes % (1L << 30) == 0 ? $"{bytes >> 30}GiB"
        : bytes % (1L << 20) == 0 ? $"{bytes >> 20}MiB"
        : bytes % (1L << 10) == 0 ? $"{bytes >> 10}KiB"
        : $"{bytes}";
}
