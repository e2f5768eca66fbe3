namespace Ananas.Dns.Zones;

/// <summary>
/// A presentation-format error with its source position. The message reads
/// <c>file:line:column: expected X, found 'Y'</c> so that editors and terminals can jump to it.
/// </summary>
public sealed class ZoneFileException : DnsFormatException
{
    public ZoneFileException(string file, int line, int column, string detail, Exception? inner = null)
        : base($"{file}:{line}:{column}: {detail}", inner!) // Exception accepts a null inner exception
    {
        File = file;
        Line = line;
        Column = column;
        Detail = detail;
    }

    public string File { get; }

    public int Line { get; }

    public int Column { get; }

    /// <summary>The message without the position prefix.</summary>
    public string Detail { get; }
}
