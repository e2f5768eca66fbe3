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

/// <summary>
/// <c>ananas probe</c>: changes a TXT record through the zone API on a schedule and times, per edge, from the request
/// until the edge answers the new value over UDP. Each time is one observation of
/// <c>ananas_propagation_seconds{edge}</c>; an edge that has not answered it within the timeout counts as +Inf.
/// </summary>
internal sealed class PropagationProbe(ZoneApiClient api, string zone, string record, IReadOnlyList<ProbeEdge> edges, TimeSpan timeout)
{
    /// <summary>Between two questions to an edge that still answers the old value.</summary>
    private static readonly TimeSpan AskInterval = TimeSpan.FromMilliseconds(2);

    private readonly Dictionary<string, LatencyHistogram> _histograms = edges.ToDictionary(e => e.Name, _ => new LatencyHistogram());
    private readonly Dictionary<string, long> _timeouts = edges.ToDictionary(e => e.Name, _ => 0L);
    private string? _zoneId;
    private string? _recordId;

    public DnsName Owner { get; } = DnsName.Parse($"{record}.{zone.TrimEnd('.')}.");

    /// <summary>One round: a new value, then every edge asked until it answers it; the seconds per edge (null: timed out).</summary>
    public async Task<Dictionary<string, double?>> RoundAsync(long round, CancellationToken cancellationToken)
    {
        string value = $"ananas-probe-{round}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(4))}";
        _zoneId ??= await api.ZoneIdAsync(zone.TrimEnd('.'), cancellationToken);
        _recordId ??= await api.RecordIdAsync(_zoneId, Owner.ToString().TrimEnd('.'), "TXT", $"\"{value}\"", cancellationToken);
        long start = Stopwatch.GetTimestamp();
        await api.SetContentAsync(_zoneId, _recordId, $"\"{value}\"", cancellationToken);
        var waits = edges.Select(edge => WaitForAsync(edge, value, start, cancellationToken)).ToArray();
        var seconds = await Task.WhenAll(waits);
        var result = new Dictionary<string, double?>();
        for (int i = 0; i < edges.Count; i++)
        {
            result[edges[i].Name] = seconds[i];
            if (seconds[i] is null)
            {
                lock (_timeouts) _timeouts[edges[i].Name]++;
            }
            else _histograms[edges[i].Name].Observe(TimeSpan.FromSeconds(seconds[i]!.Value));
        }
        return result;
    }

    private async Task<double?> WaitForAsync(ProbeEdge edge, string value, long start, CancellationToken cancellationToken)
    {
        using var udp = new Socket(edge.Address.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        udp.Connect(edge.Address);
        var buffer = new byte[4096];
        var deadline = start + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var query = DnsMessage.CreateQuery((ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue), Owner, RRType.TXT, recursionDesired: false);
            await udp.SendAsync(query.ToArray(), SocketFlags.None, cancellationToken);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(TimeSpan.FromMilliseconds(200));
            try
            {
                int n = await udp.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                var reply = DnsMessage.Parse(buffer.AsSpan(0, n));
                if (reply.Id == query.Id && Answers(reply, value)) return Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // No reply in time: ask again.
            }
            catch (Exception e) when (e is SocketException or DnsFormatException)
            {
                // The edge is down or answered garbage: ask again until the deadline.
            }
            await Task.Delay(AskInterval, cancellationToken);
        }
        return null;
    }

    private static bool Answers(DnsMessage reply, string value)
    {
        foreach (var answer in reply.Answers)
        {
            if (answer.Data is TxtData txt && txt.Text == value) return true;
        }
        return false;
    }

    /// <summary>The Prometheus exposition of <c>ananas_propagation_seconds</c> and the timeouts.</summary>
    public string Metrics()
    {
        var sb = new StringBuilder();
        sb.Append("# HELP ananas_propagation_seconds From a record change sent to the zone API until the edge answers the new value.\n# TYPE ananas_propagation_seconds histogram\n");
        foreach (var (edge, histogram) in _histograms)
            MetricsListener.HistogramSeries(sb, "ananas_propagation_seconds", $"edge=\"{edge}\"", histogram.Snapshot(), LatencyHistogram.Bounds, histogram.SumSeconds);
        sb.Append("# HELP ananas_propagation_timeouts_total Probe rounds an edge did not answer the new value in time.\n# TYPE ananas_propagation_timeouts_total counter\n");
        lock (_timeouts)
        {
            foreach (var (edge, count) in _timeouts) sb.Append(CultureInfo.InvariantCulture, $"ananas_propagation_timeouts_total{{edge=\"{edge}\"}} {count}\n");
        }
        return sb.ToString();
    }
}
