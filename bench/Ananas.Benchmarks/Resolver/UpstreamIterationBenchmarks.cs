using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using BenchmarkDotNet.Attributes;

namespace Ananas.Benchmarks.Resolver;

/// <summary>
/// The recursor's upstream path: every operation asks a new name, answered at once by an in-memory authority (the
/// root hint server answers everything), so what is measured is iteration itself: ordering the candidate servers
/// (lame and held-off checks), the exchange, classifying and caching the answer. With validation on, queries carry
/// DO and the servers used are recorded, but no trust anchor covers the names, so nothing is validated.
/// </summary>
[MemoryDiagnoser]
public class UpstreamIterationBenchmarks
{
    private Recursor _recursor = null!;
    private readonly InstantAuthority _authority = new();
    private int _next;

    [Params(false, true)]
    public bool Validation { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), IPAddress.Parse("198.41.0.4")),
            PrimeRoot = false,
            QnameMinimisation = false,
            Validation = Validation,
            TrustAnchors = new TrustAnchors(),
        };
        _recursor = new Recursor(options, SystemClock.Instance, new SeededRandom(1), new RecordCache(SystemClock.Instance));
    }

    [Benchmark]
    public async Task<Rcode> NewName()
    {
        var query = DnsMessage.CreateQuery(1, DnsName.Parse($"q{_next++}.bench."), RRType.A, RRClass.IN, recursionDesired: true);
        var response = await _recursor.ResolveAsync(new Request(query), _authority);
        return response.Message.Rcode;
    }

    /// <summary>Answers every question with one A record, authoritatively.</summary>
    private sealed class InstantAuthority : IExchanger
    {
        private static readonly AddressData Address = new(IPAddress.Parse("192.0.2.1"));

        public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
        {
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            response.Answers.Add(new ResourceRecord(request.Query.Question.Name, RRClass.IN, 300, Address));
            return ValueTask.FromResult(ExchangeResult.Ok(response, TimeSpan.FromMilliseconds(1), request.Transport));
        }
    }
}
