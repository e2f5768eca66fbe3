namespace Ananas.Dns;

/// <summary>
/// The one exception the DNS library raises for malformed input: wire data that cannot be parsed,
/// or presentation text that does not follow the grammar. Callers catch this type and nothing else.
/// </summary>
public class DnsFormatException : Exception
{
    public DnsFormatException(string message) : base(message) { }

    public DnsFormatException(string message, Exception inner) : base(message, inner) { }
}
