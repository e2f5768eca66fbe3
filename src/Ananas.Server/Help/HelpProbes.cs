using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Server.Frames;

namespace Ananas.Server.Help;

/// <summary>
/// The test names behind <c>/help</c> (like 1.1.1.1/help): a question for <c>NONCE.KIND.ananas-help.internal.</c>
/// (KIND <c>doh</c> when the page asks over DoH itself, <c>os</c> when it makes the browser's system resolver ask)
/// is answered here, never sent upstream or cached, with a TXT record saying how it arrived, and remembered so the
/// page can ask the DoH listener how its probes reached the server. Remote parties choose the nonces: the table holds
/// at most <see cref="Capacity"/> of them (the oldest go first) for at most <see cref="Lifetime"/>.
/// </summary>
public sealed class HelpProbes(TimeProvider? time = null)
{
    public const int Capacity = 4096;
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(2);
    public static readonly DnsName Zone = DnsName.Parse("ananas-help.internal.");
    private const int MaxPerNonce = 8;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Dictionary<string, List<Probe>> _byNonce = new(StringComparer.Ordinal);
    private readonly Queue<(string Nonce, DateTimeOffset At)> _order = new();
    private readonly Lock _lock = new();

    /// <summary>One probe as the server saw it.</summary>
    public sealed record Probe(string Kind, string Transport, string Client, DateTimeOffset At);

    /// <summary>Nonces held now.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _byNonce.Count;
        }
    }

    /// <summary>Whether <paramref name="name"/> is a probe name: exactly NONCE.KIND under <see cref="Zone"/>.</summary>
    public static bool IsProbe(DnsName name) => name.IsSubdomainOf(Zone) && name.LabelCount == Zone.LabelCount + 2;

    /// <summary>Records the probe and builds its answer (TXT: transport and client; other types: no data).</summary>
    public DnsMessage Answer(DnsMessage query, Transport transport, ClientAddress client)
    {
        var question = query.Question;
        var labels = question.Name.ToString().ToLowerInvariant().Split('.');
        string nonce = labels[0], kind = labels[1];
        string transportText = Configuration.ListenAddress.SchemeOf(transport);
        string clientText = client.ToIPAddress().ToString();
        Record(nonce, new Probe(kind, transportText, clientText, _time.GetUtcNow()));
        var response = query.CreateResponse();
        response.Set(HeaderFlags.AA);
        response.Set(HeaderFlags.RA);
        if (question.Type == RRType.TXT)
            response.Answers.Add(new ResourceRecord(question.Name, 0, new TxtData($"transport={transportText}", $"client={clientText}")));
        return response;
    }

    /// <summary>What was seen for <paramref name="nonce"/> (empty when nothing, or expired).</summary>
    public IReadOnlyList<Probe> Seen(string nonce)
    {
        lock (_lock)
        {
            Expire();
            return _byNonce.TryGetValue(nonce.ToLowerInvariant(), out var probes) ? [.. probes] : [];
        }
    }

    private void Record(string nonce, Probe probe)
    {
        lock (_lock)
        {
            Expire();
            if (!_byNonce.TryGetValue(nonce, out var probes))
            {
                while (_byNonce.Count >= Capacity && _order.TryDequeue(out var oldest)) _byNonce.Remove(oldest.Nonce);
                _byNonce[nonce] = probes = [];
                _order.Enqueue((nonce, probe.At));
            }
            if (probes.Count < MaxPerNonce) probes.Add(probe);
        }
    }

    private void Expire()
    {
        var now = _time.GetUtcNow();
        while (_order.TryPeek(out var oldest) && now - oldest.At > Lifetime)
        {
            _order.Dequeue();
            _byNonce.Remove(oldest.Nonce);
        }
    }
}
