using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Fakes;

public static class Answers
{
    /// <summary>The answer section as "owner type rdata" lines, lowercase owners, no TTL.</summary>
    public static List<string> Lines(IEnumerable<ResourceRecord> records) =>
        records.Select(r => $"{Text(r.Name)} {r.Type} {r.Data}").ToList();

    /// <summary>Lowercase name without the final dot ("." for the root), for compact expectations.</summary>
    public static string Text(DnsName name) => name.IsRoot ? "." : name.ToLowerCase().ToString().TrimEnd('.');

    public static ExtendedErrorOption? Ede(DnsMessage message) => message.Edns?.Find<ExtendedErrorOption>();
}
