using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Resolver.Cache;
using Ananas.Scenarios.Messages;
using Ananas.Scenarios.Parsing;
using Ananas.Scenarios.Running;
using Ananas.Server.Configuration;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Ananas.Fuzz;

/// <summary>One fuzz target: returns for any input it handles as designed, throws on a defect.</summary>
public delegate void FuzzTarget(ReadOnlySpan<byte> input);

/// <summary>
/// The fuzz targets. Each calls a reader the way the product does and lets escape only what the product would
/// not catch: the reader's documented error type is swallowed, anything else (or a broken invariant, raised as
/// <see cref="InvariantException"/>) is a crash for afl-fuzz.
/// </summary>
public static class Targets
{
    private static readonly Dictionary<string, FuzzTarget> All = new()
    {
        ["wire"] = Wire,
        ["query"] = Query,
        ["zone"] = Zone,
        ["config"] = Config,
        ["proxy"] = Proxy,
        ["doh"] = Doh,
        ["rpl"] = Rpl,
    };

    public static IEnumerable<string> Names => All.Keys;

    public static bool TryGet(string name, out FuzzTarget target) => All.TryGetValue(name, out target!);

    private static readonly byte[] WriteBuffer = new byte[1 << 20];

    /// <summary>The full wire parser: parse or <see cref="DnsFormatException"/>; what parses must write and parse again.</summary>
    private static void Wire(ReadOnlySpan<byte> input)
    {
        DnsMessage m;
        try
        {
            m = DnsMessage.Parse(input);
        }
        catch (DnsFormatException)
        {
            return;
        }
        int n = m.WriteTo(WriteBuffer, WriteBuffer.Length);
        if ((WriteBuffer[2] & 0x02) != 0 && !m.Has(HeaderFlags.TC)) return; // truncated on the way out: nothing to compare
        var again = DnsMessage.Parse(WriteBuffer.AsSpan(0, n));
        Check(again.Questions.Count == m.Questions.Count && again.Answers.Count == m.Answers.Count
            && again.Authority.Count == m.Authority.Count && again.Additional.Count == m.Additional.Count,
            "a parsed message wrote back with different section counts");
        Check(again.Rcode == m.Rcode && again.Opcode == m.Opcode, "a parsed message wrote back with a different RCODE or opcode");
    }

    /// <summary>
    /// The Internet-facing query reader (<see cref="QueryReader"/>) and its two consumers, the server's first look
    /// (<see cref="QueryShape"/>) and the answer-cache key (<see cref="AnswerKey"/>): never throw, never point
    /// outside the input, and what the cache would answer the full parser accepts as the same question.
    /// </summary>
    private static void Query(ReadOnlySpan<byte> input)
    {
        Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
        bool read = QueryReader.TryRead(input, name, out var view, out _);
        var shape = QueryShape.Read(input);
        Span<byte> key = stackalloc byte[AnswerKey.MaxLength];
        bool keyed = AnswerKey.TryRead(input, key, out int keyLength, out int nameLength);
        Check(shape.QuestionEnd <= input.Length && view.QuestionEnd <= input.Length, "a question reported past the end of the input");
        if (read) Check(view.Name.Length is >= 1 and <= DnsName.MaxWireLength && view.Name[^1] == 0, "QueryReader reports an impossible question name");
        if (shape.Status == QueryStatus.Ok && shape.HasEdns) Check(read, "QueryShape reports EDNS from a query QueryReader rejects");
        if (!keyed) return;
        Check(read && shape.Status == QueryStatus.Ok && shape.QuestionEnd == view.QuestionEnd, "the answer cache keys a query the first look does not accept");
        Check(keyLength == nameLength + 5 && nameLength == view.Name.Length, "the answer-cache key does not cover the question name");
        for (int i = 0; i < nameLength; i++)
            Check(key[i] == AnswerKey.ToLower(view.Name[i]), "the answer-cache key is not the lowercased question name");
        // What the cache answers never reaches the full parser, so the full parser must accept it as the same question.
        DnsMessage m;
        try
        {
            m = DnsMessage.Parse(input);
        }
        catch (DnsFormatException e)
        {
            throw new InvariantException($"the answer cache keys a query DnsMessage.Parse rejects: {e.Message}");
        }
        Check(m.Questions.Count == 1 && m.Questions[0].Name.Wire.SequenceEqual(view.Name) && m.Questions[0].Type == view.Type
            && (m.Edns is not null) == view.HasEdns && (m.Edns?.DnssecOk ?? false) == view.DnssecOk, "the answer-cache key and the full parser read different questions");
    }

    /// <summary>The zone-file reader and the operator checks: errors are collected, nothing escapes.</summary>
    private static void Zone(ReadOnlySpan<byte> input)
    {
        var text = Encoding.UTF8.GetString(input);
        // A directory that does not exist: $INCLUDE of a relative path reports an error instead of reading a file.
        var zone = ZoneFileReader.Parse(text, "/nonexistent/ananas-fuzz/fuzz.zone", Fixtures.ZoneOrigin, 3600);
        if (!zone.HasErrors) ZoneChecker.Check(zone.Records, Fixtures.ZoneOrigin, "fuzz.zone");
    }

    /// <summary>The TOML configuration loader: a configuration or a <see cref="ConfigException"/>.</summary>
    private static void Config(ReadOnlySpan<byte> input)
    {
        try
        {
            ConfigLoader.Apply(Fixtures.BaseConfig, Encoding.UTF8.GetString(input), "fuzz.toml");
        }
        catch (ConfigException)
        {
        }
    }

    /// <summary>The PROXY v2 header parser: never throws; a complete header lies within the input.</summary>
    private static void Proxy(ReadOnlySpan<byte> input)
    {
        var status = ProxyProtocol.TryParse(input, out int consumed, out var source);
        if (status is ProxyHeaderStatus.Local or ProxyHeaderStatus.Proxied)
            Check(consumed >= ProxyProtocol.FixedLength && consumed <= input.Length, "PROXY v2 header consumed outside the input");
        Check((status == ProxyHeaderStatus.Proxied) == (source is not null), "PROXY v2 source address without a PROXY command, or missing");
    }

    /// <summary>
    /// DoH request parsing. The first octet picks the method and path, the first line is the Content-Type, the
    /// rest the query string; a wire query then goes to the first look the listener gives it.
    /// </summary>
    private static void Doh(ReadOnlySpan<byte> input)
    {
        if (input.Length == 0) return;
        string method = (input[0] & 3) switch { 0 => "GET", 1 => "POST", 2 => "HEAD", _ => "PUT" };
        bool dohPath = (input[0] & 4) == 0;
        var text = Encoding.UTF8.GetString(input[1..]);
        int newline = text.IndexOf('\n');
        string? contentType = newline < 0 ? null : text[..newline];
        var query = new QueryCollection(QueryHelpers.ParseQuery(newline < 0 ? text : text[(newline + 1)..]));
        var request = DohRequest.Read(method, dohPath, query, contentType, input.Length);
        switch (request.Kind)
        {
            case DohRequestKind.WireQuery:
                Check(request.Wire is { Length: <= DohRequest.MaxMessage }, "a DoH GET query without its message");
                Query(request.Wire);
                break;
            case DohRequestKind.JsonQuery:
                Span<byte> name = stackalloc byte[DnsName.MaxWireLength];
                Check(QueryReader.TryRead(request.Wire, name, out _, out var error), $"a JSON API query the server cannot read back ({error})");
                break;
            case DohRequestKind.Refused:
                Check(request.StatusCode is >= 400 and < 500, "a refused DoH request without a client-error status");
                break;
        }
    }

    /// <summary>The .rpl scenario parser, with the message templates and setup plan built from what it read.</summary>
    private static void Rpl(ReadOnlySpan<byte> input)
    {
        Ananas.Scenarios.Model.Scenario scenario;
        try
        {
            scenario = ScenarioParser.Parse(Encoding.UTF8.GetString(input), "fuzz.rpl");
        }
        catch (ScenarioParseException)
        {
            return;
        }
        ScenarioSetupBuilder.Build(scenario);
        try
        {
            ScenarioTemplates.Build(scenario);
        }
        catch (UnsupportedRecordException)
        {
        }
    }

    private static void Check(bool condition, string what)
    {
        if (!condition) throw new InvariantException(what);
    }
}

/// <summary>
/// Values the targets share, built on first use: instrumented code must not run before <c>Fuzzer.Run</c> has set
/// up the coverage map (SharpFuzz's trace pointer is unset until then).
/// </summary>
internal static class Fixtures
{
    public static readonly DnsName ZoneOrigin = DnsName.Parse("example.");
    public static readonly ServerConfig BaseConfig = ConfigLoader.Defaults();
}

/// <summary>A property a target checks did not hold: a defect even though nothing threw.</summary>
public sealed class InvariantException(string message) : Exception(message);
