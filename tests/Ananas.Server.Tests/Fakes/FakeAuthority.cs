using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// A scripted <see cref="IExchanger"/>: one authority for every name (the root hints point at it), answering from
/// zone-file lines, with optional per-name delays (real time) to make some upstream exchanges slow.
/// </summary>
public sealed class FakeAuthority : IExchanger
{
    private readonly List<ResourceRecord> _records = [];
    private readonly Dictionary<DnsName, TimeSpan> _delays = [];
    private int _queries;
    private TimeSpan _defaultDelay;
    private ManualResetEventSlim? _gate;

    public FakeAuthority(params string[] lines)
    {
        _records.Add(RecordText.Parse(". 3600 SOA a.root-servers.net. hostmaster. 1 1800 900 604800 300", DnsName.Root));
        foreach (var line in lines) _records.Add(RecordText.Parse(line, DnsName.Root, 300));
    }

    public int Queries => Volatile.Read(ref _queries);

    public FakeAuthority Delay(string name, TimeSpan delay)
    {
        _delays[DnsName.Parse(name)] = delay;
        return this;
    }

    /// <summary>Every exchange for a name without its own delay takes this long (real time).</summary>
    public FakeAuthority DelayAll(TimeSpan delay)
    {
        _defaultDelay = delay;
        return this;
    }

    /// <summary>
    /// Every exchange first blocks its thread until <paramref name="gate"/> is set (at most 10 s), then records its
    /// question in <see cref="Asked"/>: the order in which held-up resolutions went on.
    /// </summary>
    public FakeAuthority HoldAll(ManualResetEventSlim gate)
    {
        _gate = gate;
        return this;
    }

    /// <summary>With <see cref="HoldAll"/>: the questions asked, in the order their exchanges went on.</summary>
    public System.Collections.Concurrent.ConcurrentQueue<DnsName> Asked { get; } = new();

    /// <summary>With <see cref="HoldAll"/>: the questions that reached the gate, in order (held or since let through).</summary>
    public System.Collections.Concurrent.ConcurrentQueue<DnsName> Arrived { get; } = new();

    /// <summary>With <see cref="HoldAll"/>: called with each question as it reaches the gate, on the exchange's thread.</summary>
    public Action<DnsName>? OnArrival { get; set; }

    /// <summary>With <see cref="HoldAll"/>: exchanges blocked at the gate now.</summary>
    public int Held => Volatile.Read(ref _held);

    private int _held;

    public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _queries);
        var query = DnsMessage.Parse(request.Query.ToArray());
        var q = query.Question;
        if (_gate is { } gate)
        {
            Arrived.Enqueue(q.Name);
            OnArrival?.Invoke(q.Name);
            Interlocked.Increment(ref _held);
            gate.Wait(TimeSpan.FromSeconds(10));
            Interlocked.Decrement(ref _held);
            Asked.Enqueue(q.Name);
        }
        if (_delays.TryGetValue(q.Name, out var delay) || (delay = _defaultDelay) > TimeSpan.Zero) await Task.Delay(delay, cancellationToken);
        var response = query.CreateResponse();
        response.Set(HeaderFlags.AA);
        response.Answers.AddRange(_records.Where(r => r.Name.Equals(q.Name) && r.Type == q.Type));
        if (response.Answers.Count == 0)
        {
            if (!_records.Exists(r => r.Name.IsSubdomainOf(q.Name))) response.Rcode = Rcode.NXDomain;
            response.Authority.Add(_records[0]);
        }
        return ExchangeResult.Ok(DnsMessage.Parse(response.ToArray()), TimeSpan.FromMilliseconds(1), request.Transport);
    }
}
