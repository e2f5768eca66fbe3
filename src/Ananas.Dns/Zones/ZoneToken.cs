namespace Ananas.Dns.Zones;

/// <summary>What a <see cref="ZoneToken"/> is.</summary>
public enum ZoneTokenKind : byte
{
    /// <summary>An unquoted run of characters; escapes are kept as written.</summary>
    Word,

    /// <summary>The inside of a <c>"..."</c> string; escapes are kept as written.</summary>
    Quoted,

    /// <summary>A line end outside parentheses: the end of one logical record.</summary>
    EndOfRecord,

    EndOfFile,
}

/// <summary>
/// One token of presentation text. <see cref="Text"/> keeps backslash escapes undecoded because their
/// meaning depends on the field (<c>\.</c> in a name is a literal dot inside a label).
/// </summary>
/// <param name="AtLineStart">The token starts in column 1 of a line outside parentheses, so it is an owner name
/// or a directive; a record whose first token is not at line start inherits the previous owner (RFC 1035 §5.1).</param>
public readonly record struct ZoneToken(ZoneTokenKind Kind, string Text, int Line, int Column, bool AtLineStart)
{
    public bool IsText => Kind is ZoneTokenKind.Word or ZoneTokenKind.Quoted;

    /// <summary>How the token appears in error messages.</summary>
    public string Describe() => Kind switch
    {
        ZoneTokenKind.Word => $"'{Text}'",
        ZoneTokenKind.Quoted => $"'\"{Text}\"'",
        ZoneTokenKind.EndOfRecord => "end of line",
        _ => "end of file",
    };
}
