using Ananas.Dns.Records;

namespace Ananas.Dns.Zones;

/// <summary>
/// The state a record inherits from the lines before it (RFC 1035 §5.1, RFC 2308 §4): origin, owner,
/// TTL and class.
/// </summary>
internal sealed class RecordContext(string file, DnsName? origin)
{
    public string File { get; set; } = file;

    public DnsName? Origin { get; set; } = origin;

    public DnsName? LastOwner { get; set; }

    /// <summary>From <c>$TTL</c>.</summary>
    public uint? DefaultTtl { get; set; }

    /// <summary>The last TTL written on a record (used when there is no <c>$TTL</c>, RFC 1035 §5.1).</summary>
    public uint? LastTtl { get; set; }

    public RRClass? LastClass { get; set; }

    /// <summary>False for zone text from a remote party (an API upload): <c>$INCLUDE</c> would read this host's files.</summary>
    public bool AllowInclude { get; init; } = true;
}

/// <summary>Turns the tokens of one logical record into a <see cref="ResourceRecord"/>.</summary>
internal static class RecordParser
{
    /// <param name="ownerAlwaysPresent">The first token is the owner even if indented (one-line record text).</param>
    public static ResourceRecord Parse(List<ZoneToken> tokens, ZoneToken end, RecordContext ctx, bool ownerAlwaysPresent,
        bool keepMalformedGeneric = false)
    {
        int i = 0;
        DnsName owner;
        if (ownerAlwaysPresent || tokens[0].AtLineStart)
        {
            owner = RDataTextReader.ParseName(tokens[0], ctx.Origin, ctx.File, "an owner name");
            i = 1;
        }
        else
        {
            owner = ctx.LastOwner ?? throw new ZoneFileException(ctx.File, tokens[0].Line, tokens[0].Column,
                $"expected an owner name in column 1, found {tokens[0].Describe()} (a blank owner needs an earlier record)");
        }

        uint? ttl = null;
        RRClass? rrclass = null;
        // TTL and class may come in either order (RFC 1035 §5.1); a word that is also a type name is the type.
        for (int k = 0; k < 2 && i < tokens.Count && tokens[i].Kind == ZoneTokenKind.Word; k++)
        {
            var text = tokens[i].Text;
            if (ttl is null && RDataTextReader.TryParseTtl(text, out uint t)) { ttl = t; i++; }
            else if (rrclass is null && RRClassText.TryParse(text, out var c) && (!RRTypeText.TryParse(text, out _) || NextIsType(tokens, i + 1)))
            {
                rrclass = c;
                i++;
            }
            else break;
        }
        var typeToken = i < tokens.Count ? tokens[i] : end;
        if (typeToken.Kind != ZoneTokenKind.Word || !RRTypeText.TryParse(typeToken.Text, out var type))
            throw new ZoneFileException(ctx.File, typeToken.Line, typeToken.Column,
                $"expected {(ttl is null || rrclass is null ? "a TTL, class or record type" : "a record type")}, found {typeToken.Describe()}");
        i++;

        var reader = new RDataTextReader(tokens, i, end, ctx.File, ctx.Origin) { KeepMalformedGeneric = keepMalformedGeneric };
        RData data;
        try
        {
            data = RDataCodec.Parse(type, reader);
        }
        catch (ZoneFileException)
        {
            throw;
        }
        catch (Exception e) when (e is DnsFormatException or FormatException or ArgumentException or OverflowException or IndexOutOfRangeException)
        {
            // Constructors check what the token readers cannot see (lengths, key order); report at the type.
            throw new ZoneFileException(ctx.File, typeToken.Line, typeToken.Column, $"bad {RRTypeText.ToText(type)} RDATA: {e.Message}", e);
        }

        uint resolvedTtl;
        if (ttl is { } explicitTtl)
        {
            resolvedTtl = explicitTtl;
            ctx.LastTtl = explicitTtl;
        }
        else if ((ctx.DefaultTtl ?? ctx.LastTtl) is { } inherited) resolvedTtl = inherited;
        else if (data is SoaData soa)
        {
            // No $TTL and no TTL yet: the SOA MINIMUM was the default before RFC 2308, and BIND still uses it.
            resolvedTtl = soa.Minimum;
            ctx.LastTtl = soa.Minimum;
        }
        else throw new ZoneFileException(ctx.File, typeToken.Line, typeToken.Column,
            $"expected a TTL before {typeToken.Describe()} (no $TTL and no earlier TTL to inherit)");

        var cls = rrclass ?? ctx.LastClass ?? RRClass.IN;
        ctx.LastClass = cls;
        ctx.LastOwner = owner;
        return new ResourceRecord(owner, cls, resolvedTtl, data);
    }

    /// <summary>"ANY" is both a class and a type; it is the class when a type follows.</summary>
    private static bool NextIsType(List<ZoneToken> tokens, int i) =>
        i < tokens.Count && tokens[i].Kind == ZoneTokenKind.Word && RRTypeText.TryParse(tokens[i].Text, out _);
}
