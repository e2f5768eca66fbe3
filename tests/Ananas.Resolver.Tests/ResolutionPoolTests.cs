using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Tests;

/// <summary>
/// The per-recursor pool of idle resolutions (issue 19, cold-path allocation): a resolution given back is never still in
/// use by its previous query, and a reused one carries nothing over from it.
/// </summary>
public sealed class ResolutionPoolTests
{
    private static readonly IPAddress Root = IPAddress.Parse("198.41.0.4");
    private static readonly IPAddress PoolServer = IPAddress.Parse("192.0.2.53");
    private static readonly DnsName Zone = DnsName.Parse("pool.");
    private static readonly DnsName ServerName = DnsName.Parse("ns.pool.");

    [Fact]
    public async Task Concurrent_resolutions_through_the_pool_each_get_their_own_answer_and_count_only_their_own_exchanges()
    {
        var authority = new DelayingAuthority();
        var recursor = NewRecursor();
        // The first query caches the delegation (the root's referral): every later one is two exchanges below it (the
        // name's CNAME, then its target's address).
        await Resolve(recursor, authority, 0);

        const int Queries = 400, InFlight = 32;
        var pending = new List<Task<(int Index, Response Response)>>(InFlight);
        for (int start = 1; start <= Queries; start += InFlight)
        {
            pending.Clear();
            for (int i = start; i < start + InFlight && i <= Queries; i++)
            {
                int index = i;
                // Started from the thread pool, so that resolutions overlap and end on other threads than they began.
                pending.Add(Task.Run(async () => (index, await Resolve(recursor, authority, index))));
            }
            foreach (var (index, response) in await Task.WhenAll(pending))
            {
                Assert.Equal(Rcode.NoError, response.Message.Rcode);
                Assert.Equal(NameOf(index), response.Message.Question.Name);
                Assert.Equal(2, response.Message.Answers.Count);
                var (alias, answer) = (response.Message.Answers[0], response.Message.Answers[1]);
                Assert.Equal(TargetOf(index), ((NameData)alias.Data).Target);
                Assert.Equal(TargetOf(index), answer.Name);
                Assert.Equal(AddressOf(index), ((AddressData)answer.Data).Address);
                // Two exchanges with a wait between them: a resolution shared by two queries would count the other's
                // exchanges too (or lose its own), or make its second exchange with the other query's state.
                Assert.Equal(2, response.UpstreamQueries);
            }
        }
        Assert.Equal(2 * (Queries + 1), authority.Answers);
        // Resolutions were given back and taken again while others ran: the concurrency above exercised reuse.
        Assert.True(recursor.Resolutions.Reused >= Queries / 2, $"only {recursor.Resolutions.Reused} of {Queries} queries reused a resolution");
    }

    [Fact]
    public async Task A_resolution_taken_again_after_being_given_back_starts_with_nothing_of_its_previous_query()
    {
        var options = NewOptions();
        var cache = new RecordCache(SystemClock.Instance);
        var context = new RecursorContext(options, cache, new LameServerList(SystemClock.Instance, options.LameHoldDown),
            new LameServerList(SystemClock.Instance, options.BogusServerHoldDown), new RandomServerSelector(new SeededRandom(1)), SystemClock.Instance,
            PeerCompatibility.None);
        var pool = new ResolutionPool(context);
        var exchanger = new DelayingAuthority();

        // RD=0 and an empty cache: the resolution records that it needed recursion and the name it lacked.
        var first = pool.Rent(exchanger, new Request(DnsMessage.CreateQuery(1, NameOf(1), RRType.A, RRClass.IN, recursionDesired: false)), CancellationToken.None);
        var outcome = await first.ResolveAsync(NameOf(1), RRType.A, 0);
        Assert.Equal(Rcode.ServFail, outcome.Rcode);
        Assert.True(first.NeededRecursion);
        Assert.Equal(NameOf(1), first.UncachedName);
        // Not given back: a second query gets another instance.
        var second = pool.Rent(exchanger, new Request(DnsMessage.CreateQuery(2, NameOf(2), RRType.A, RRClass.IN)), CancellationToken.None);
        Assert.NotSame(first, second);

        pool.Return(first);
        var third = pool.Rent(exchanger, new Request(DnsMessage.CreateQuery(3, NameOf(3), RRType.A, RRClass.IN)), CancellationToken.None);
        Assert.Same(first, third);
        Assert.False(third.NeededRecursion);
        Assert.Null(third.UncachedName);
        Assert.Equal(0, third.UpstreamQueries);
        Assert.Equal(0, third.Budget.Used);
        // RD=1 now: the reused resolution asks upstream instead of answering from the cache only as its previous query did.
        var resolved = await third.ResolveAsync(NameOf(3), RRType.A, 0);
        Assert.Equal(Rcode.NoError, resolved.Rcode);
        Assert.Equal(3, third.UpstreamQueries); // the root's referral, the alias, its target's address
    }

    private static RecursorOptions NewOptions() => new()
    {
        RootHints = RootHints.Single(DnsName.Parse("a.root-servers.net."), Root),
        PrimeRoot = false,
        QnameMinimisation = false,
        Validation = false,
    };

    private static Recursor NewRecursor() => new(NewOptions(), SystemClock.Instance, new SeededRandom(1), new RecordCache(SystemClock.Instance));

    private static DnsName NameOf(int index) => DnsName.Parse($"q{index}.pool.");

    private static DnsName TargetOf(int index) => DnsName.Parse($"t{index}.pool.");

    private static IPAddress AddressOf(int index) => new([10, (byte)(index >> 16), (byte)(index >> 8), (byte)index]);

    private static async Task<Response> Resolve(Recursor recursor, IExchanger authority, int index) =>
        await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(1, NameOf(index), RRType.A, RRClass.IN, recursionDesired: true)), authority);

    /// <summary>
    /// The root refers pool. to its server, which answers q{i}.pool. with a CNAME to t{i}.pool. (without the target's
    /// data, so the resolver asks again) and t{i}.pool. with 10.x.y.z = i, each after a short, varying wait.
    /// </summary>
    private sealed class DelayingAuthority : IExchanger
    {
        private int _answers;

        public int Answers => Volatile.Read(ref _answers);

        public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
        {
            var query = request.Query;
            var response = query.CreateResponse();
            if (request.Server.Address.Equals(Root))
            {
                response.Authority.Add(new ResourceRecord(Zone, RRClass.IN, 86400, new NameData(RRType.NS, ServerName)));
                response.Additional.Add(new ResourceRecord(ServerName, RRClass.IN, 86400, new AddressData(PoolServer)));
                return ExchangeResult.Ok(response, TimeSpan.FromMilliseconds(1), request.Transport);
            }
            var name = query.Question.Name;
            string text = name.ToString();
            int index = int.Parse(text.AsSpan(1, text.IndexOf('.') - 1));
            // Answers come back out of order and on other threads, while other resolutions start and end.
            if (index % 3 == 0) await Task.Yield();
            else await Task.Delay(index % 3);
            Interlocked.Increment(ref _answers);
            response.Set(HeaderFlags.AA);
            response.Answers.Add(text[0] == 'q'
                ? new ResourceRecord(name, RRClass.IN, 300, new NameData(RRType.CNAME, TargetOf(index)))
                : new ResourceRecord(name, RRClass.IN, 300, new AddressData(AddressOf(index))));
            return ExchangeResult.Ok(response, TimeSpan.FromMilliseconds(1), request.Transport);
        }
    }
}
