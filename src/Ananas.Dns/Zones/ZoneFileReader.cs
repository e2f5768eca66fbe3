namespace Ananas.Dns.Zones;

/// <summary>
/// Reads a master file (RFC 1035 §5): records plus the <c>$ORIGIN</c>, <c>$TTL</c> (RFC 2308 §4) and
/// <c>$INCLUDE</c> directives. A bad record is reported and skipped so that one run lists every error;
/// a tokenizer error (an unclosed quote or parenthesis) ends the file it occurs in.
/// </summary>
public static class ZoneFileReader
{
    /// <summary>How deep <c>$INCLUDE</c> may nest; deeper is surely a mistake (or a loop through different paths).</summary>
    public const int MaxIncludeDepth = 16;

    /// <summary>Reads the zone file at <paramref name="path"/>.</summary>
    /// <param name="origin">The origin before any <c>$ORIGIN</c>; null leaves relative names an error until one appears.</param>
    /// <param name="defaultTtl">The TTL for records without one before any <c>$TTL</c>.</param>
    public static ZoneFile Load(string path, DnsName? origin = null, uint? defaultTtl = null)
    {
        var zone = new ZoneFile { InitialOrigin = origin };
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            zone.Errors.Add(new ZoneFileException(path, 0, 0, $"cannot read the file: {e.Message}", e));
            return zone;
        }
        var ctx = new RecordContext(path, origin) { DefaultTtl = defaultTtl };
        ReadText(zone, text, path, ctx, [Path.GetFullPath(path)], topLevel: true);
        return zone;
    }

    /// <summary>Reads zone text held in memory. <c>$INCLUDE</c> paths are relative to <paramref name="fileName"/>'s directory.</summary>
    /// <param name="allowInclude">False for text from a remote party: <c>$INCLUDE</c> is then an error, never a file read.</param>
    public static ZoneFile Parse(string text, string fileName, DnsName? origin = null, uint? defaultTtl = null, bool allowInclude = true)
    {
        var zone = new ZoneFile { InitialOrigin = origin };
        var ctx = new RecordContext(fileName, origin) { DefaultTtl = defaultTtl, AllowInclude = allowInclude };
        ReadText(zone, text, fileName, ctx, [Path.GetFullPath(fileName)], topLevel: true);
        return zone;
    }

    private static void ReadText(ZoneFile zone, string text, string file, RecordContext ctx, List<string> includeStack, bool topLevel)
    {
        var tokenizer = new ZoneTokenizer(text, file);
        var tokens = new List<ZoneToken>();
        while (true)
        {
            ZoneToken end;
            try
            {
                if (!tokenizer.ReadRecord(tokens, out end)) return;
            }
            catch (ZoneFileException e)
            {
                zone.Errors.Add(e);
                return;
            }
            try
            {
                var first = tokens[0];
                if (first.Kind == ZoneTokenKind.Word && first.Text.StartsWith('$'))
                {
                    Directive(zone, tokens, end, file, ctx, includeStack, topLevel);
                    continue;
                }
                var record = RecordParser.Parse(tokens, end, ctx, ownerAlwaysPresent: false);
                zone.Records.Add(new ZoneRecord(record, file, first.Line, first.Column));
            }
            catch (ZoneFileException e)
            {
                zone.Errors.Add(e);
            }
        }
    }

    private static void Directive(ZoneFile zone, List<ZoneToken> tokens, ZoneToken end, string file, RecordContext ctx,
        List<string> includeStack, bool topLevel)
    {
        var reader = new RDataTextReader(tokens, 1, end, file, ctx.Origin);
        var directive = tokens[0];
        switch (directive.Text.ToUpperInvariant())
        {
            case "$ORIGIN":
                {
                    var origin = reader.ReadName("an origin name");
                    reader.ExpectEnd();
                    ctx.Origin = origin;
                    if (topLevel) zone.FirstOrigin ??= origin;
                    return;
                }
            case "$TTL":
                {
                    uint ttl = reader.ReadTtl("a TTL");
                    reader.ExpectEnd();
                    ctx.DefaultTtl = ttl;
                    return;
                }
            case "$INCLUDE" when !ctx.AllowInclude:
                throw new ZoneFileException(file, directive.Line, directive.Column, "expected $ORIGIN or $TTL, found '$INCLUDE' (not allowed in uploaded zone text)");
            case "$INCLUDE":
                {
                    var fileToken = reader.Next("a file name");
                    DnsName? includeOrigin = reader.AtEnd ? null : reader.ReadName("an origin name");
                    reader.ExpectEnd();
                    if (!global::Ananas.Dns.Records.PresentationText.TryDecode(fileToken.Text, out var nameBytes, out var error))
                        throw reader.Error("a file name", fileToken, error);
                    string relative = System.Text.Encoding.UTF8.GetString(nameBytes);
                    string baseDirectory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".";
                    string path;
                    try
                    {
                        path = Path.GetFullPath(Path.Combine(baseDirectory, relative));
                    }
                    catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
                    {
                        // A name the file system cannot hold (an escaped NUL octet, say) is an error in the zone, not in the reader.
                        throw new ZoneFileException(file, fileToken.Line, fileToken.Column, $"expected a file name, found '{fileToken.Text}' ({e.Message})", e);
                    }
                    if (includeStack.Contains(path))
                        throw new ZoneFileException(file, fileToken.Line, fileToken.Column, $"expected a file not already being read, found '{relative}' ($INCLUDE loop)");
                    if (includeStack.Count > MaxIncludeDepth)
                        throw new ZoneFileException(file, fileToken.Line, fileToken.Column, $"expected at most {MaxIncludeDepth} nested $INCLUDEs, found '{relative}' one level deeper");
                    string text;
                    try
                    {
                        text = File.ReadAllText(path);
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
                    {
                        throw new ZoneFileException(file, fileToken.Line, fileToken.Column, $"expected a readable file, found '{relative}' ({e.Message})", e);
                    }
                    // The included file gets its own origin; the including file's origin is unchanged after it (RFC 1035 §5.1).
                    var savedOrigin = ctx.Origin;
                    string includeName = Path.Combine(Path.GetDirectoryName(file) ?? "", relative);
                    ctx.Origin = includeOrigin ?? ctx.Origin;
                    ctx.File = includeName;
                    includeStack.Add(path);
                    try
                    {
                        ReadText(zone, text, includeName, ctx, includeStack, topLevel: false);
                    }
                    finally
                    {
                        includeStack.RemoveAt(includeStack.Count - 1);
                        ctx.Origin = savedOrigin;
                        ctx.File = file;
                    }
                    return;
                }
            default:
                throw new ZoneFileException(file, directive.Line, directive.Column, $"expected $ORIGIN, $TTL or $INCLUDE, found '{directive.Text}'");
        }
    }
}
