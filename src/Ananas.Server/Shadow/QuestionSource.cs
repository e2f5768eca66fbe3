using System.Text.Json;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Server.Shadow;

/// <summary>
/// Reads the questions to replay: lines of our query log (JSON with <c>qname</c> and <c>qtype</c>; replies without
/// a question are skipped) or plain <c>NAME [TYPE]</c> lines (type A when absent; '#' starts a comment).
/// </summary>
public static class QuestionSource
{
    /// <summary>At most <paramref name="limit"/> questions; a line that is neither form is an error naming its line.</summary>
    public static List<Question> Read(TextReader reader, string sourceName, int limit)
    {
        var questions = new List<Question>();
        string? line;
        int number = 0;
        while (questions.Count < limit && (line = reader.ReadLine()) is not null)
        {
            number++;
            line = line.Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            string name, type;
            if (line[0] == '{')
            {
                try
                {
                    using var json = JsonDocument.Parse(line);
                    if (!json.RootElement.TryGetProperty("qname", out var qname) || !json.RootElement.TryGetProperty("qtype", out var qtype)) continue;
                    name = qname.GetString() ?? "";
                    type = qtype.GetString() ?? "";
                }
                catch (Exception e) when (e is JsonException or InvalidOperationException)
                {
                    throw new FormatException($"{sourceName}:{number}: not a query log line: {e.Message}");
                }
            }
            else
            {
                var parts = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length > 2) throw new FormatException($"{sourceName}:{number}: expected 'NAME [TYPE]', got '{line}'");
                name = parts[0];
                type = parts.Length > 1 ? parts[1] : "A";
            }
            if (!DnsName.TryParse(name, null, out var parsed, out var error)) throw new FormatException($"{sourceName}:{number}: '{name}' is not a domain name: {error}");
            RRType rrType;
            if (ushort.TryParse(type, out var numeric)) rrType = (RRType)numeric;
            else if (!RRTypeText.TryParse(type.ToUpperInvariant(), out rrType)) throw new FormatException($"{sourceName}:{number}: '{type}' is not a record type");
            questions.Add(new Question(parsed, rrType, RRClass.IN));
        }
        return questions;
    }
}
