using System.Globalization;
using System.Text;
using Ananas.Dns;

namespace Ananas.Cluster;

/// <summary>
/// The public suffix list (publicsuffix.org): the unit of ownership in the cluster is a name's registered domain,
/// one label below its public suffix, so that every name of <c>example.co.uk</c> goes to the same owners and feeds
/// one infrastructure cache with that domain's servers. Rules follow the list's algorithm: the longest matching
/// rule wins, <c>*.</c> matches any one label, <c>!</c> exceptions cut a wildcard back by one label, and a name
/// no rule covers has its top-level label as suffix (the implicit <c>*</c>). IDN rules are kept as A-labels.
/// </summary>
public sealed class PublicSuffixList
{
    private readonly HashSet<string> _rules = new(StringComparer.Ordinal);
    private readonly HashSet<string> _wildcards = new(StringComparer.Ordinal);
    private readonly HashSet<string> _exceptions = new(StringComparer.Ordinal);

    private PublicSuffixList()
    {
    }

    public int RuleCount => _rules.Count + _wildcards.Count + _exceptions.Count;

    /// <summary>The copy shipped with Ananas (an embedded resource).</summary>
    public static PublicSuffixList Builtin() => s_builtin.Value;

    private static readonly Lazy<PublicSuffixList> s_builtin = new(() =>
    {
        using var stream = typeof(PublicSuffixList).Assembly.GetManifestResourceStream("public_suffix_list.dat")
            ?? throw new InvalidOperationException("the embedded public suffix list is missing");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return Parse(reader.ReadToEnd());
    });

    /// <summary>Reads a list file. Throws <see cref="IOException"/> or <see cref="FormatException"/> (no rule at all, or a rule that is not a name).</summary>
    public static PublicSuffixList Load(string path) => Parse(File.ReadAllText(path, Encoding.UTF8));

    public static PublicSuffixList Parse(string text)
    {
        var list = new PublicSuffixList();
        var idn = new IdnMapping();
        int lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            // A rule is the line's first whitespace-delimited word; comments start with //.
            var line = raw.Trim();
            int space = line.IndexOfAny([' ', '\t']);
            if (space >= 0) line = line[..space];
            if (line.Length == 0 || line.StartsWith("//", StringComparison.Ordinal)) continue;
            var set = list._rules;
            if (line.StartsWith('!'))
            {
                set = list._exceptions;
                line = line[1..];
            }
            else if (line.StartsWith("*.", StringComparison.Ordinal))
            {
                set = list._wildcards;
                line = line[2..];
            }
            string ascii;
            try
            {
                ascii = idn.GetAscii(line.TrimEnd('.')).ToLowerInvariant();
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"line {lineNumber}: '{line}' is not a domain name: {e.Message}");
            }
            if (!DnsName.TryParse(ascii, DnsName.Root, out _, out var error)) throw new FormatException($"line {lineNumber}: '{line}' is not a domain name: {error}");
            set.Add(ascii);
        }
        if (list.RuleCount == 0) throw new FormatException("no rule: not a public suffix list");
        return list;
    }

    /// <summary>
    /// The registered domain of <paramref name="name"/> as lower-case text without the final dot (<c>example.co.uk</c>),
    /// or the name itself when it is a public suffix or the root ("" for the root).
    /// </summary>
    public string RegisteredDomain(DnsName name)
    {
        int count = name.LabelCount;
        if (count == 0) return "";
        var labels = new string[count];
        for (int i = 0; i < count; i++) labels[i] = Encoding.ASCII.GetString(name.GetLabel(i)).ToLowerInvariant();
        int suffix = SuffixLabels(labels);
        int take = Math.Min(count, suffix + 1);
        return string.Join('.', labels, count - take, take);
    }

    /// <summary>How many trailing labels form the public suffix (at least 1: the implicit <c>*</c> rule).</summary>
    private int SuffixLabels(string[] labels)
    {
        int best = 1;
        for (int n = 1; n <= labels.Length; n++)
        {
            string candidate = string.Join('.', labels, labels.Length - n, n);
            if (_exceptions.Contains(candidate)) return n - 1;
            if (_rules.Contains(candidate)) best = n;
            // *.parent matches this candidate when the parent (n-1 labels) is the wildcard's base.
            if (n >= 2 && _wildcards.Contains(string.Join('.', labels, labels.Length - n + 1, n - 1))) best = n;
        }
        return best;
    }
}
