using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Server.Listeners;
using Ananas.Server.Pipeline;

namespace Ananas.Cli.Probe;

/// <summary>One edge the probe asks: its name (the metric's label) and DNS address.</summary>
internal sealed record ProbeEdge(string Name, IPEndPoint Address);

/// <summary>One measurement: change <paramref name="Round"/> reached <paramref name="Edge"/> after <paramref name="Seconds"/> (null: not within the timeout).</summary>
/// <param name="ApiSeconds">How long the API took to acknowledge the change (included in <paramref name="Seconds"/>).</param>
internal sealed record ProbeResult(long Round, long UnixMs, string Edge, double? Seconds, double? ApiSeconds);

/// <summary>
/// <c>ananas probe</c>: changes a TXT record through the zone API on a schedule and times, per edge, from sending the
/// change until the edge answers it (or a later change: a newer value supersedes it) over UDP. One watcher per edge
/// asks continuously, so a slow or dead edge never holds up the schedule or the other edges. Each time is one
/// observation of <c>ananas_propagation_seconds{edge}</c>; a change an edge has not answered within the timeout is
/// counted in <c>ananas_propagation_timeouts_total{edge}</c>.
/// </summary>
internal sealed class PropagationProbe(ZoneApiClient api, string zone, string record, IReadOnlyList<ProbeEdge> edges, TimeSpan timeout)
{
    /// <summary>
    /// Between two questions to one edge while a change is on its way to it: the time measured is that of the first
    /// answer carrying the change, so it is at most this much late, never early.
    /// </summary>
    private static readonly TimeSpan AskInterval = TimeSpan.FromMilliseconds(5);

    /// <summary>
    /// A watcher with no change on its way asks nothing (the CPU is the pipeline's under test); it wakes when a change
    /// is sent, or after this to expire rounds.
    /// </summary>
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(100);

    // The values of this run: "ananas-probe-RUN-ROUND"; another run's value (a probe before) is never taken for ours.
    private readonly string _run = Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();
    private readonly Dictionary<string, LatencyHistogram> _histograms = edges.ToDictionary(e => e.Name, _ => new LatencyHistogram());
    private readonly Dictionary<string, long> _timeouts = edges.ToDictionary(e => e.Name, _ => 0L);
    private readonly SortedDictionary<long, (long Start, long UnixMs)> _rounds = [];
    private readonly Dictionary<long, double> _apiSeconds = [];
    private long _lastRound;
    private TaskCompletionSource _roundSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private string? _zoneId;
    private string? _recordId;

    public DnsName Owner { get; } = DnsName.Parse($"{record}.{zone.TrimEnd('.')}.");

    /// <summary>Called with every measurement (from the watchers' threads).</summary>
    public Action<ProbeResult>? Measured { get; set; }

    /// <summary>Sends change <paramref name="round"/>; the watchers time it.</summary>
    public async Task ChangeAsync(long round, CancellationToken cancellationToken)
    {
        string value = $"ananas-probe-{_run}-{round}";
        _zoneId ??= await api.ZoneIdAsync(zone.TrimEnd('.'), cancellationToken);
        _recordId ??= await api.RecordIdAsync(_zoneId, Owner.ToString().TrimEnd('.'), "TXT", "\"ananas-probe\"", cancellationToken);
        TaskCompletionSource started;
        lock (_rounds)
        {
            _rounds[round] = (Stopwatch.GetTimestamp(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            _lastRound = Math.Max(_lastRound, round);
            started = _roundSent;
            _roundSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        started.TrySetResult(); // the watchers start asking
        try
        {
            long sent = Stopwatch.GetTimestamp();
            await api.SetContentAsync(_zoneId, _recordId, $"\"{value}\"", cancellationToken);
            lock (_rounds) _apiSeconds[round] = Stopwatch.GetElapsedTime(sent).TotalSeconds;
        }
        catch
        {
            lock (_rounds)
            {
                _rounds.Remove(round); // never made: nothing to time
                if (_lastRound == round) _lastRound = round - 1;
            }
            throw;
        }
    }

    /// <summary>Runs one watcher per edge until cancelled.</summary>
    public Task WatchAsync(CancellationToken cancellationToken) => Task.WhenAll(edges.Select(edge => WatchAsync(edge, cancellationToken)));

    private async Task WatchAsync(ProbeEdge edge, CancellationToken cancellationToken)
    {
        long seen = 0; // the newest round this edge answered; every round up to it has reached it
        var buffer = new byte[4096];
        Socket? udp = null;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                Task roundSent;
                bool waiting;
                lock (_rounds) (roundSent, waiting) = (_roundSent.Task, _lastRound > seen);
                if (!waiting)
                {
                    await Task.WhenAny(roundSent, Task.Delay(IdleWait, cancellationToken));
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }
                try
                {
                    udp ??= Connect(edge.Address);
                    long answered = await AskAsync(udp, buffer, cancellationToken);
                    if (answered > seen)
                    {
                        Resolve(edge.Name, seen, answered);
                        seen = answered;
                    }
                }
                catch (Exception e) when (e is SocketException or DnsFormatException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
                {
                    // The edge is down, slow or answered garbage: ask again.
                    udp?.Dispose();
                    udp = null;
                }
                ExpireRounds(edge.Name, ref seen);
                await Task.Delay(AskInterval, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            udp?.Dispose();
        }
    }

    private static Socket Connect(IPEndPoint address)
    {
        var udp = new Socket(address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(address);
        return udp;
    }

    /// <summary>One question; the round of our value in the answer, or 0.</summary>
    private async Task<long> AskAsync(Socket udp, byte[] buffer, CancellationToken cancellationToken)
    {
        var query = DnsMessage.CreateQuery((ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue), Owner, RRType.TXT, recursionDesired: false);
        await udp.SendAsync(query.ToArray(), SocketFlags.None, cancellationToken);
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(TimeSpan.FromMilliseconds(500));
        while (true)
        {
            int n = await udp.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
            var reply = DnsMessage.Parse(buffer.AsSpan(0, n));
            if (reply.Id != query.Id) continue; // a late answer to an earlier question
            foreach (var answer in reply.Answers)
            {
                string prefix = $"ananas-probe-{_run}-";
                if (answer.Data is TxtData txt && txt.Text.StartsWith(prefix, StringComparison.Ordinal)
                    && long.TryParse(txt.Text.AsSpan(prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long round))
                    return round;
            }
            return 0;
        }
    }

    /// <summary>Rounds after <paramref name="from"/> up to <paramref name="to"/> reached the edge now.</summary>
    private void Resolve(string edge, long from, long to)
    {
        var now = Stopwatch.GetTimestamp();
        var done = new List<ProbeResult>();
        lock (_rounds)
        {
            foreach (var (round, (start, unixMs)) in _rounds)
            {
                if (round <= from) continue;
                if (round > to) break;
                var elapsed = Stopwatch.GetElapsedTime(start, now);
                _histograms[edge].Observe(elapsed);
                done.Add(new ProbeResult(round, unixMs, edge, elapsed.TotalSeconds, _apiSeconds.TryGetValue(round, out var a) ? a : null));
            }
        }
        foreach (var result in done) Measured?.Invoke(result);
    }

    /// <summary>Rounds this edge has not answered within the timeout are counted as timed out (and no longer waited for).</summary>
    private void ExpireRounds(string edge, ref long seen)
    {
        var expired = new List<ProbeResult>();
        lock (_rounds)
        {
            foreach (var (round, (start, unixMs)) in _rounds)
            {
                if (round <= seen) continue;
                if (Stopwatch.GetElapsedTime(start) < timeout) break;
                expired.Add(new ProbeResult(round, unixMs, edge, null, null));
                seen = round;
            }
            if (expired.Count > 0) _timeouts[edge] += expired.Count;
            // Rounds every edge is done with are dropped, so the table stays bounded.
            while (_rounds.Count > 0 && Stopwatch.GetElapsedTime(_rounds.First().Value.Start) > timeout + timeout)
            {
                _apiSeconds.Remove(_rounds.First().Key);
                _rounds.Remove(_rounds.First().Key);
            }
        }
        foreach (var result in expired) Measured?.Invoke(result);
    }

    /// <summary>The Prometheus exposition of <c>ananas_propagation_seconds</c> and the timeouts.</summary>
    public string Metrics()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP ananas_propagation_seconds From a record change sent to the zone API until the edge answers it (or a later change).\n# TYPE ananas_propagation_seconds histogram\n");
        foreach (var (edge, histogram) in _histograms)
            MetricsListener.HistogramSeries(sb, "ananas_propagation_seconds", $"edge=\"{edge}\"", histogram.Snapshot(), LatencyHistogram.Bounds, histogram.SumSeconds);
        sb.Append("# HELP ananas_propagation_timeouts_total Changes an edge did not answer within the probe's timeout.\n# TYPE ananas_propagation_timeouts_total counter\n");
        lock (_rounds)
        {
            foreach (var (edge, count) in _timeouts) sb.Append(CultureInfo.InvariantCulture, $"ananas_propagation_timeouts_total{{edge=\"{edge}\"}} {count}\n");
        }
        return sb.ToString();
    }
}
