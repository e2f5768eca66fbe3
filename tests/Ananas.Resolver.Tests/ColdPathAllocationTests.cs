using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Xunit.Abstractions;

namespace Ananas.Resolver.Tests;

/// <summary>
/// Guards the bytes the recursor allocates to resolve a new name below a cached delegation (issue 19: under 2 KiB per
/// resolved query beyond the cached data). The in-memory authority answers synchronously, so the whole resolution
/// runs on the test's thread and <see cref="GC.GetAllocatedBytesForCurrentThread"/> counts exactly its allocations;
/// the client's query and the authority's answer are measured apart and subtracted.
/// </summary>
public sealed class ColdPathAllocationTests(ITestOutputHelper output)
{
    private const int Names = 200;

    // Measured (docs/BENCHMARKS.md): 4437 B without validation and 4757 B with it at first; 3286 B and 3606 B before the
    // per-resolution context was pooled and the messages' sections made on demand; 2236 B both ways after (the recursor's
    // upstream query, the response it builds and the new cache entries included), 1912 B without the cached data; then
    // 2310–2358 B once record-cache entries became exact-size arrays (the cached data's share ≈325 → 400–450 B per
    // name: the copy made at store, for less memory kept). The bounds leave ~4%: a per-resolution object of ~100 B
    // coming back crosses them.
    [Theory]
    [InlineData(false, 2450)]
    [InlineData(true, 2450)]
    public async Task A_new_name_below_a_cached_delegation_allocates_under_the_bound(bool validation, long maxBytesPerResolution)
    {
        var authority = new ReferringAuthority();
        var recursor = new Recursor(new RecursorOptions
        {
            RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), ReferringAuthority.Root),
            PrimeRoot = false,
            QnameMinimisation = false,
            Validation = validation,
            TrustAnchors = new TrustAnchors(),
        }, SystemClock.Instance, new SeededRandom(1), new RecordCache(SystemClock.Instance));
        var names = new DnsName[2 * Names];
        for (int i = 0; i < names.Length; i++) names[i] = DnsName.Parse($"q{i}.bench.");

        // The first names cache the delegation and warm up every path (static caches, the thread's spare sets).
        for (int i = 0; i < Names; i++) await ResolveSynchronously(recursor, authority, names[i]);
        Assert.Equal(1, authority.Referrals);

        long start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = Names; i < names.Length; i++) await ResolveSynchronously(recursor, authority, names[i]);
        long resolving = GC.GetAllocatedBytesForCurrentThread() - start;
        Assert.Equal(1, authority.Referrals); // every measured name started from the cached delegation
        Assert.Equal(2 * Names, authority.Answers);

        // The harness's share: the client's query and request, and the authority's answer (with its result).
        var upstream = new ExchangeRequest(DnsMessage.CreateQuery(0, names[0], RRType.A, RRClass.IN, recursionDesired: false), new IPEndPoint(ReferringAuthority.Bench, 53),
            UpstreamTransport.Udp, names[0]);
        start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = Names; i < names.Length; i++)
        {
            _ = new Request(DnsMessage.CreateQuery(1, names[i], RRType.A, RRClass.IN, recursionDesired: true));
            _ = await authority.ExchangeAsync(upstream, CancellationToken.None);
        }
        long harness = GC.GetAllocatedBytesForCurrentThread() - start;

        // The cached data itself, which the target leaves out: each name's A RRset as the recursor collects it
        // from the answer and the record cache's entry for it, stored the same way into a cache of the same kind.
        var answers = new DnsMessage[names.Length];
        for (int i = 0; i < names.Length; i++) answers[i] = authority.Answer(upstream.Query, ReferringAuthority.Bench, names[i]);
        var store = new RecordCache(SystemClock.Instance);
        for (int i = 0; i < Names; i++) store.Store(RRset.Collect(answers[i].Answers, names[i], RRType.A)!, TrustRank.AuthoritativeAnswer);
        start = GC.GetAllocatedBytesForCurrentThread();
        for (int i = Names; i < names.Length; i++) store.Store(RRset.Collect(answers[i].Answers, names[i], RRType.A)!, TrustRank.AuthoritativeAnswer);
        long cachedData = GC.GetAllocatedBytesForCurrentThread() - start;

        long perResolution = (resolving - harness) / Names;
        long withoutCachedData = (resolving - harness - cachedData) / Names;
        output.WriteLine($"validation {validation}: {perResolution} B per resolution, {withoutCachedData} B without the cached data ({cachedData / Names} B)");
        Assert.True(perResolution <= maxBytesPerResolution, $"{perResolution} B per resolution (bound {maxBytesPerResolution} B)");
        Assert.True(withoutCachedData < 2048, $"{withoutCachedData} B per resolution without the cached data (issue 19: under 2 KiB)");
    }

    private static async Task ResolveSynchronously(Recursor recursor, IExchanger authority, DnsName name)
    {
        var work = recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(1, name, RRType.A, RRClass.IN, recursionDesired: true)), authority);
        Assert.True(work.IsCompleted, "the resolution must complete synchronously for the thread's byte count to be its own");
        Assert.Equal(Rcode.NoError, (await work).Message.Rcode);
    }

    /// <summary>The root refers every name to bench. (NS with glue); bench.'s server answers every name with one A record.</summary>
    private sealed class ReferringAuthority : IExchanger
    {
        public static readonly IPAddress Root = IPAddress.Parse("198.41.0.4");
        public static readonly IPAddress Bench = IPAddress.Parse("192.0.2.53");
        private static readonly DnsName Zone = DnsName.Parse("bench.");
        private static readonly DnsName ServerName = DnsName.Parse("ns.bench.");
        private static readonly AddressData Address = new(IPAddress.Parse("192.0.2.1"));

        public int Referrals { get; private set; }

        public int Answers { get; private set; }

        public ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(ExchangeResult.Ok(Answer(request.Query, request.Server.Address), TimeSpan.FromMilliseconds(1), request.Transport));

        public DnsMessage Answer(DnsMessage query, IPAddress server, DnsName? name = null)
        {
            var response = query.CreateResponse();
            if (server.Equals(Root))
            {
                Referrals++;
                response.Authority.Add(new ResourceRecord(Zone, RRClass.IN, 86400, new NameData(RRType.NS, ServerName)));
                response.Additional.Add(new ResourceRecord(ServerName, RRClass.IN, 86400, new AddressData(Bench)));
                return response;
            }
            Answers++;
            response.Set(HeaderFlags.AA);
            response.Answers.Add(new ResourceRecord(name ?? query.Question.Name, RRClass.IN, 300, Address));
            return response;
        }
    }
}
