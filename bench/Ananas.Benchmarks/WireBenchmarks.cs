using System.Reflection;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Wire;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Ar = ARSoft.Tools.Net;

namespace Ananas.Benchmarks;

/// <summary>
/// Wire-format hot paths against ARSoft.Tools.Net (the established .NET DNS library whose message parser
/// and encoder are reachable; DnsClient's are internal, only its name reader is public). In each category
/// the other library is the baseline, so Ratio below 1 means we are faster (0.2 = 5×).
/// </summary>
[MemoryDiagnoser]
[MedianColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class WireBenchmarks
{
    private delegate Ar.DomainName ArParseName(IList<byte> data, ref int offset);

    private byte[] _query = [];
    private byte[] _response = [];
    private readonly byte[] _buffer = new byte[65535];
    private readonly byte[] _nameBuffer = new byte[DnsName.MaxWireLength];
    private DnsMessage _ours = null!;
    private Ar.Dns.DnsMessage _theirs = null!;
    private Func<Ar.Dns.DnsMessageBase, Ar.Dns.DnsRawPackage> _arEncode = null!;
    private ArParseName _arParseName = null!;

    [GlobalSetup]
    public void Setup()
    {
        _query = WirePackets.Query().ToArray();
        _response = WirePackets.Response().ToArray();
        _ours = DnsMessage.Parse(_response);
        _theirs = Ar.Dns.DnsMessage.Parse(new ArraySegment<byte>(_response));
        // ARSoft's Encode and ParseDomainName are internal; a bound delegate calls them at full speed.
        var flags = BindingFlags.Instance | BindingFlags.Static | BindingFlags.NonPublic;
        _arEncode = typeof(Ar.Dns.DnsMessageBase).GetMethod("Encode", flags, Type.EmptyTypes)!
            .CreateDelegate<Func<Ar.Dns.DnsMessageBase, Ar.Dns.DnsRawPackage>>();
        _arParseName = typeof(Ar.Dns.DnsMessageBase).GetMethod("ParseDomainName", flags, [typeof(IList<byte>), typeof(int).MakeByRefType()])!
            .CreateDelegate<ArParseName>();
        if (_theirs.AnswerRecords.Count != 3 || _ours.Answers.Count != 3) throw new InvalidOperationException("packets do not parse alike");
    }

    // ---- parse a 3-answer response into objects ----

    [Benchmark, BenchmarkCategory("Parse response")]
    public DnsMessage ParseResponse_Ananas() => DnsMessage.Parse(_response);

    [Benchmark(Baseline = true), BenchmarkCategory("Parse response")]
    public Ar.Dns.DnsMessage ParseResponse_ARSoft() => Ar.Dns.DnsMessage.Parse(new ArraySegment<byte>(_response));

    // ---- header + question (+ OPT) of a query ----

    [Benchmark, BenchmarkCategory("Read query")]
    public int ReadQuery_Ananas_QueryReader()
    {
        QueryReader.TryRead(_query, _nameBuffer, out var view, out _);
        return view.Name.Length + (view.DnssecOk ? 1 : 0);
    }

    [Benchmark, BenchmarkCategory("Read query")]
    public DnsMessage ReadQuery_Ananas_FullParse() => DnsMessage.Parse(_query);

    [Benchmark(Baseline = true), BenchmarkCategory("Read query")]
    public Ar.Dns.DnsMessage ReadQuery_ARSoft() => Ar.Dns.DnsMessage.Parse(new ArraySegment<byte>(_query));

    // ---- write the response with compression ----

    [Benchmark, BenchmarkCategory("Write response")]
    public int WriteResponse_Ananas() => _ours.WriteTo(_buffer, 1232);

    [Benchmark(Baseline = true), BenchmarkCategory("Write response")]
    public int WriteResponse_ARSoft() => _arEncode(_theirs).Length;

    // ---- one name from the wire (the question name at offset 12) ----

    [Benchmark, BenchmarkCategory("Parse name")]
    public DnsName ParseName_Ananas()
    {
        var reader = new WireReader(_response) { Position = DnsHeader.Size };
        return reader.ReadName();
    }

    [Benchmark, BenchmarkCategory("Parse name")]
    public int ParseName_Ananas_IntoSpan()
    {
        var reader = new WireReader(_response) { Position = DnsHeader.Size };
        return reader.ReadName(_nameBuffer, out _);
    }

    [Benchmark, BenchmarkCategory("Parse name")]
    public object ParseName_DnsClient() => new DnsClient.DnsDatagramReader(new ArraySegment<byte>(_response), DnsHeader.Size).ReadDnsName();

    [Benchmark(Baseline = true), BenchmarkCategory("Parse name")]
    public Ar.DomainName ParseName_ARSoft()
    {
        int offset = DnsHeader.Size;
        return _arParseName(_response, ref offset);
    }
}
