using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Authoritative.Transfer;

/// <summary>
/// NOTIFY (RFC 1996) to the configured secondaries when a zone's SOA serial changes in the store: one UDP
/// message per zone and secondary with a random ID, resent with doubling waits until the secondary answers
/// (§3.6: the reply echoes ID and opcode) or the attempts run out. A zone already waiting for a secondary is
/// not queued twice (the secondary fetches the newest SOA anyway), and the waiting set is bounded.
/// </summary>
public sealed class NotifySender : IDisposable
{
    private static readonly EventId NotifyUnanswered = new(3030, "NotifyUnanswered");
    private static readonly EventId NotifyDropped = new(3031, "NotifyDropped");

    private readonly IReadOnlyList<IPEndPoint> _secondaries;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(DnsName Zone, IPEndPoint Secondary), byte> _pending = new();
    private readonly SemaphoreSlim _sending;
    private readonly CancellationTokenSource _stopping = new();

    public NotifySender(IReadOnlyList<IPEndPoint> secondaries, ILogger? logger = null, int concurrency = 32)
    {
        _secondaries = secondaries;
        _logger = logger ?? NullLogger.Instance;
        _sending = new SemaphoreSlim(concurrency, concurrency);
    }

    /// <summary>The wait for the first answer; each resend doubles it (RFC 1996 §3.6: "with a small interval, then increasing").</summary>
    public TimeSpan FirstWait { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Sends per zone and secondary before giving up (the secondary still polls at its SOA refresh).</summary>
    public int MaxAttempts { get; init; } = 5;

    /// <summary>Zone and secondary pairs waiting or being notified at most; more changes at once are dropped and counted.</summary>
    public int MaxPending { get; init; } = 65536;

    public long Sent;
    public long Answered;
    public long Unanswered;
    public long Dropped;

    /// <summary>Notifies the secondaries of every zone whose serial differs between two indexes (new zones included).</summary>
    public void Changed(ZoneIndex before, ZoneIndex after)
    {
        if (_secondaries.Count == 0) return;
        foreach (var zone in after.Zones)
        {
            var old = before.Find(zone.Apex.ToLowerCase().Wire, out int offset);
            if (old is null || offset != 0 || old.Serial != zone.Serial) Notify(zone.Apex);
        }
    }

    /// <summary>Queues a NOTIFY of <paramref name="zone"/> to every secondary.</summary>
    public void Notify(DnsName zone)
    {
        foreach (var secondary in _secondaries)
        {
            if (_pending.Count >= MaxPending)
            {
                Interlocked.Increment(ref Dropped);
                _logger.LogWarning(NotifyDropped, "NOTIFY of {Zone} to {Secondary} not sent: {Max} notifications are already waiting", zone, secondary, MaxPending);
                continue;
            }
            if (_pending.TryAdd((zone, secondary), 0)) _ = SendAsync(zone, secondary);
        }
    }

    private async Task SendAsync(DnsName zone, IPEndPoint secondary)
    {
        try
        {
            await _sending.WaitAsync(_stopping.Token).ConfigureAwait(false);
            try
            {
                if (await ExchangeAsync(zone, secondary, _stopping.Token).ConfigureAwait(false)) Interlocked.Increment(ref Answered);
                else
                {
                    Interlocked.Increment(ref Unanswered);
                    _logger.LogWarning(NotifyUnanswered, "NOTIFY of {Zone} to {Secondary}: no answer after {Attempts} attempts", zone, secondary, MaxAttempts);
                }
            }
            finally
            {
                _sending.Release();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _pending.TryRemove((zone, secondary), out _);
        }
    }

    /// <summary>One NOTIFY, resent until answered; true when the secondary acknowledged it.</summary>
    private async Task<bool> ExchangeAsync(DnsName zone, IPEndPoint secondary, CancellationToken cancellationToken)
    {
        ushort id = (ushort)RandomNumberGenerator.GetInt32(ushort.MaxValue + 1);
        var notify = new DnsMessage { Id = id, Opcode = Opcode.Notify, Flags = HeaderFlags.AA };
        notify.Questions.Add(new Question(zone, RRType.SOA, RRClass.IN));
        var wire = notify.ToArray();
        using var socket = new Socket(secondary.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(secondary);
        var buffer = new byte[512];
        var wait = FirstWait;
        for (int attempt = 0; attempt < MaxAttempts; attempt++, wait *= 2)
        {
            try
            {
                await socket.SendAsync(wire, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref Sent);
            }
            catch (SocketException)
            {
                // Unreachable now (ICMP from an earlier attempt): wait and try again.
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(wait);
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token).ConfigureAwait(false);
                    if (IsAnswer(buffer.AsSpan(0, n), id)) return true;
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }
            catch (SocketException)
            {
                // ICMP port unreachable: nobody listens yet; the wait of this attempt is skipped, not the attempt count.
                await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            }
        }
        return false;
    }

    /// <summary>A response to our NOTIFY: QR set, our ID and opcode NOTIFY (RFC 1996 §4.7; the RCODE does not matter).</summary>
    private static bool IsAnswer(ReadOnlySpan<byte> reply, ushort id)
    {
        if (reply.Length < DnsHeader.Size) return false;
        var header = DnsHeader.Read(reply);
        return header.Id == id && header.Has(HeaderFlags.QR) && header.Opcode == Opcode.Notify;
    }

    public void AppendPrometheus(System.Text.StringBuilder sb)
    {
        sb.Append("# HELP ananas_auth_notify_total NOTIFY messages to secondaries (RFC 1996) by outcome.\n# TYPE ananas_auth_notify_total counter\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_auth_notify_total{{outcome=\"sent\"}} {Volatile.Read(ref Sent)}\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_auth_notify_total{{outcome=\"answered\"}} {Volatile.Read(ref Answered)}\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_auth_notify_total{{outcome=\"unanswered\"}} {Volatile.Read(ref Unanswered)}\n");
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_auth_notify_total{{outcome=\"dropped\"}} {Volatile.Read(ref Dropped)}\n");
    }

    /// <summary>Stops every NOTIFY still waiting (the token source stays alive for sends ending now).</summary>
    public void Dispose() => _stopping.Cancel();
}
