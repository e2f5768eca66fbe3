using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;

namespace Ananas.Resolver.Conductor;

/// <summary>
/// The production <see cref="IExchanger"/>: all of the resolver's upstream I/O.
/// <list type="bullet">
/// <item>Deduplication: identical queries in flight to the same server share one exchange (<see cref="InFlightTable"/>),
/// with bounded waiters; overflow is refused at once.</item>
/// <item>UDP from a random port on a socket connected to the server (only its address and port get through), kept for a
/// few exchanges with that server only (<see cref="UdpSocketPool"/>), with a cryptographically random ID, optional 0x20 case randomisation, retransmission after the server's RTO from the
/// <see cref="InfrastructureCache"/>; a truncated answer moves to TCP; FORMERR/NOTIMP to EDNS retries without it.</item>
/// <item>TCP and DNS-over-TLS with connection reuse and pipelining (<see cref="StreamConnectionPool"/>).</item>
/// <item>Every outcome feeds the infrastructure cache (RTT, timeouts, errors, capabilities) and <see cref="ConductorMetrics"/>;
/// held-down servers fail at once without a packet.</item>
/// </list>
/// Never throws for network outcomes.
/// </summary>
public sealed class Conductor : IExchanger, IDisposable
{
    private const int MaxUdpMessage = 65535;
    private const int QueryBufferSize = 2 + 1024;

    // Query and receive buffers are held across the wait for the answer, so as many are out as exchanges are in flight
    // (hundreds on a busy resolver): more than the shared pool keeps per core, which then allocated a fresh 64 KiB
    // array for most cold queries. This pool keeps enough of them.
    private static readonly ArrayPool<byte> ExchangeBuffers = ArrayPool<byte>.Create(MaxUdpMessage + 1, 1024);

    private readonly InFlightTable _inFlight;
    private readonly StreamConnectionPool _pool;
    private readonly UdpSocketPool _udpSockets;
    private readonly Dictionary<IPEndPoint, string> _tls = new();
    private readonly CancellationTokenSource _lifetime = new();

    public Conductor(ConductorOptions options, InfrastructureCache infrastructure, ConductorMetrics? metrics = null)
    {
        Options = options;
        Infrastructure = infrastructure;
        Metrics = metrics ?? new ConductorMetrics(options.MaxTrackedUpstreams);
        _inFlight = new InFlightTable(options.MaxInFlightQueries, options.MaxWaitersPerQuery);
        _pool = new StreamConnectionPool(options, Metrics);
        _udpSockets = new UdpSocketPool(options);
        foreach (var upstream in options.TlsUpstreams) _tls[upstream.Server] = upstream.ServerName;
    }

    /// <summary>A conductor with default options and an infrastructure cache of its own on the system clock.</summary>
    public Conductor()
        : this(new ConductorOptions(), new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance))
    {
    }

    public ConductorOptions Options { get; }

    public InfrastructureCache Infrastructure { get; }

    public ConductorMetrics Metrics { get; }

    /// <summary>Distinct upstream queries in flight now.</summary>
    public int InFlight => _inFlight.Count;

    /// <summary>Open TCP and TLS connections now.</summary>
    public int OpenConnections => _pool.Count;

    /// <summary>The server selector matching this conductor (RTT-ordered from its infrastructure cache).</summary>
    public RttServerSelector CreateSelector(IRandom random) => new(Infrastructure, random);

    public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        var transport = request.Transport;
        var tlsName = request.TlsServerName;
        if (_tls.TryGetValue(request.Server, out var configuredName))
        {
            transport = UpstreamTransport.Tls;
            tlsName ??= configuredName;
        }
        if (_lifetime.IsCancellationRequested || request.Query.Questions.Count != 1 || (transport == UpstreamTransport.Tls && tlsName is null))
            return ExchangeResult.Failed(ExchangeStatus.Refused, transport);
        var address = request.Server.Address;
        if (Infrastructure.HeldDownFailure(address) is { } failure)
        {
            // Repeated failures: fail at once, no packet, so that an unreachable zone fails fast (the recursor
            // then answers SERVFAIL with EDE 22 or 23, as before the hold-down) and a dead server is not hammered.
            Metrics.Count(address, UpstreamEvent.HeldDownSkip);
            return ExchangeResult.Failed(failure, transport);
        }

        var key = QueryKey.From(request) with { Transport = transport };
        switch (_inFlight.TryJoin(key, out var entry))
        {
            case InFlightTable.Join.Full:
                Metrics.DedupOverflow();
                return ExchangeResult.Failed(ExchangeStatus.Refused, transport);
            case InFlightTable.Join.Follower:
                Metrics.DedupHit(address);
                break;
            default:
                _ = LeadAsync(key, entry, request, transport, tlsName);
                break;
        }
        try
        {
            var answer = entry.Result.Task;
            bool waited = !answer.IsCompleted;
            var result = await answer.WaitAsync(cancellationToken).ConfigureAwait(false);
            // The answer completed on a socket's callback: the rest of the resolution waits its client group's turn.
            if (waited) await ResolutionLane.Reenter();
            return result;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
    }

    /// <summary>Runs the one exchange for an in-flight key; its own caller going away does not cancel it for the others.</summary>
    private async Task LeadAsync(QueryKey key, InFlightTable.Entry entry, ExchangeRequest request, UpstreamTransport transport, string? tlsName)
    {
        ExchangeResult result;
        try
        {
            await ResolutionLane.Yield(); // the leader's caller starts waiting before any I/O (in its client group's turn)
            result = transport switch
            {
                UpstreamTransport.Udp => await ExchangeUdpAsync(request.Query, request.Server).ConfigureAwait(false),
                _ => await ExchangeStreamAsync(request.Query, request.Server, transport, tlsName).ConfigureAwait(false),
            };
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException or DnsFormatException)
        {
            result = ExchangeResult.Failed(ExchangeStatus.NetworkError, transport);
        }
        _inFlight.Complete(key, entry, result);
    }

    // ---------------------------------------------------------------------------------------------------------
    // UDP

    private async ValueTask<ExchangeResult> ExchangeUdpAsync(DnsMessage query, IPEndPoint server)
    {
        var address = server.Address;
        bool edns = query.Edns is not null;
        if (edns && Infrastructure.GetEdnsSupport(address) == EdnsSupport.NotSupported)
        {
            query = WithoutEdns(query);
            edns = false;
        }
        var result = await ExchangeUdpAttemptsAsync(query, server).ConfigureAwait(false);
        if (result.Response is not { } response) return result;

        if (edns && response.Edns is null && response.Rcode is Rcode.FormErr or Rcode.NotImp)
        {
            // RFC 6891 §7: a responder without EDNS answers FORMERR (some NOTIMP) without an OPT record.
            Metrics.Count(address, UpstreamEvent.EdnsFallback);
            var plain = WithoutEdns(query);
            var retry = await ExchangeUdpAttemptsAsync(plain, server).ConfigureAwait(false);
            if (retry.Response is not { } second) return retry.Status == ExchangeStatus.Response ? retry : result;
            if (second.Rcode is not (Rcode.FormErr or Rcode.NotImp)) Infrastructure.SetEdnsSupport(address, EdnsSupport.NotSupported);
            query = plain;
            result = retry;
            response = second;
        }
        else if (edns && response.Edns is not null && Infrastructure.GetEdnsSupport(address) == EdnsSupport.Unknown)
        {
            Infrastructure.SetEdnsSupport(address, EdnsSupport.Supported);
        }

        if (response.Has(HeaderFlags.TC))
        {
            Metrics.Count(address, UpstreamEvent.TcpFallback);
            var tcp = await ExchangeStreamAsync(query, server, UpstreamTransport.Tcp, null).ConfigureAwait(false);
            // If TCP fails too, the truncated answer is still an answer (the recursor decides what to do with it).
            return tcp.Status == ExchangeStatus.Response ? tcp : result;
        }
        return result;
    }

    private async ValueTask<ExchangeResult> ExchangeUdpAttemptsAsync(DnsMessage query, IPEndPoint server)
    {
        var address = server.Address;
        long started = Stopwatch.GetTimestamp();
        bool malformed = false;
        int attempts = Math.Max(1, Options.UdpAttempts);
        for (int attempt = 0; attempt < attempts; attempt++)
        {
            if (attempt > 0 && Infrastructure.IsHeldDown(address)) break;
            bool randomiseCase = Options.UseCaseRandomisation && Infrastructure.GetCasePreservation(address) != Capability.Fails;
            var rto = Infrastructure.GetRto(address);
            var outcome = await UdpOnceAsync(query, server, rto, randomiseCase).ConfigureAwait(false);
            malformed |= outcome.Malformed;
            switch (outcome.Status)
            {
                case ExchangeStatus.Response:
                    Infrastructure.RecordRtt(address, outcome.RoundTrip);
                    Metrics.Rtt(address, outcome.RoundTrip);
                    Metrics.Count(address, UpstreamEvent.Response);
                    if (randomiseCase && Infrastructure.GetCasePreservation(address) == Capability.Unknown)
                        Infrastructure.SetCasePreservation(address, Capability.Works);
                    return ExchangeResult.Ok(outcome.Response!, outcome.RoundTrip, UpstreamTransport.Udp);
                case ExchangeStatus.NetworkError:
                    Infrastructure.RecordNetworkError(address);
                    Metrics.Count(address, UpstreamEvent.NetworkError);
                    return ExchangeResult.Failed(ExchangeStatus.NetworkError, UpstreamTransport.Udp);
                default:
                    if (outcome.CaseMismatch)
                    {
                        // The server answered, but without our letter case: it does not preserve case (or someone
                        // is guessing). Remember it, and ask it in plain case from now on.
                        Infrastructure.SetCasePreservation(address, Capability.Fails);
                        if (attempt == attempts - 1) attempts++; // the plain-case try is not a retransmission
                        continue;
                    }
                    Infrastructure.RecordTimeout(address, rto);
                    Metrics.Count(address, UpstreamEvent.Timeout);
                    continue;
            }
        }
        if (malformed)
        {
            Metrics.Count(address, UpstreamEvent.Malformed);
            return ExchangeResult.Failed(ExchangeStatus.MalformedResponse, UpstreamTransport.Udp);
        }
        return ExchangeResult.Timeout(Stopwatch.GetElapsedTime(started), UpstreamTransport.Udp);
    }

    private readonly record struct UdpOutcome(ExchangeStatus Status, DnsMessage? Response, TimeSpan RoundTrip, bool Malformed, bool CaseMismatch);

    /// <summary>
    /// One query, one datagram from a socket of the <see cref="UdpSocketPool"/> (connected to this server, on a random
    /// port); waits at most <paramref name="timeout"/>. The socket goes back only after a clean answer.
    /// </summary>
    private async ValueTask<UdpOutcome> UdpOnceAsync(DnsMessage query, IPEndPoint server, TimeSpan timeout, bool randomiseCase)
    {
        var address = server.Address;
        var sent = ExchangeBuffers.Rent(QueryBufferSize);
        var received = ExchangeBuffers.Rent(MaxUdpMessage);
        bool malformed = false, caseMismatch = false, clean = false;
        long started = 0;
        UdpLease? lease = null;
        try
        {
            int length = query.WriteTo(sent.AsSpan(0, QueryBufferSize - 2));
            SecureRandomBytes.Fill(sent.AsSpan(0, 2)); // the ID (RFC 5452 §4.3)
            var question = query.Question;
            int nameLength = question.Name.WireLength;
            if (randomiseCase) RandomiseCase(sent.AsSpan(DnsHeader.Size, nameLength));

            lease = _udpSockets.Rent(server);
            var socket = lease.Socket;
            using var cts = new CancellationTokenSource(timeout);
            using var stop = _lifetime.Token.Register(static s => ((CancellationTokenSource)s!).Cancel(), cts);
            started = Stopwatch.GetTimestamp();
            await socket.SendAsync(sent.AsMemory(0, length), SocketFlags.None, cts.Token).ConfigureAwait(false);
            Metrics.Count(address, UpstreamEvent.Query);
            while (true)
            {
                int n = await socket.ReceiveFromAsync(received, SocketFlags.None, lease.ReceivedFrom, cts.Token).ConfigureAwait(false);
                // The socket is connected, so the kernel passes only the server's datagrams; checked again anyway.
                if (!lease.ReceivedFrom.Equals(lease.ServerAddress)) { Metrics.Count(address, UpstreamEvent.SpoofDrop); continue; }
                if (n < DnsHeader.Size || received[0] != sent[0] || received[1] != sent[1])
                {
                    Metrics.Count(address, UpstreamEvent.SpoofDrop);
                    continue;
                }
                // From the server, with our ID: either its answer, or garbage (keep waiting: the real answer may
                // still come), or a forgery that guessed the ID (wrong question or letter case).
                DnsMessage response;
                try
                {
                    response = DnsMessage.Parse(received.AsSpan(0, n));
                }
                catch (DnsFormatException)
                {
                    malformed = true;
                    continue;
                }
                switch (MatchQuestion(received.AsSpan(0, n), sent.AsSpan(0, length), nameLength))
                {
                    case QuestionMatch.Exact:
                        break;
                    case QuestionMatch.CaseDiffers when randomiseCase:
                        Metrics.Count(address, UpstreamEvent.CaseMismatch);
                        caseMismatch = true;
                        continue;
                    case QuestionMatch.CaseDiffers:
                        break;
                    default:
                        Metrics.Count(address, UpstreamEvent.SpoofDrop);
                        continue;
                }
                if (randomiseCase) response.Questions[0] = question; // the recursor sees the name as it asked it
                clean = !malformed;
                return new UdpOutcome(ExchangeStatus.Response, response, Stopwatch.GetElapsedTime(started), malformed, false);
            }
        }
        catch (OperationCanceledException)
        {
            return new UdpOutcome(ExchangeStatus.Timeout, null, Stopwatch.GetElapsedTime(started), malformed, caseMismatch);
        }
        catch (SocketException)
        {
            return new UdpOutcome(ExchangeStatus.NetworkError, null, default, malformed, caseMismatch);
        }
        finally
        {
            if (lease is not null) _udpSockets.Return(lease, clean);
            ExchangeBuffers.Return(sent);
            ExchangeBuffers.Return(received);
        }
    }

    private enum QuestionMatch : byte
    {
        Exact,
        CaseDiffers,
        Other,
    }

    /// <summary>
    /// Compares the response's header bits and question with the query's, octet by octet. The question is the
    /// first name of a message, so it cannot be compressed: its wire form must equal ours.
    /// </summary>
    private static QuestionMatch MatchQuestion(ReadOnlySpan<byte> response, ReadOnlySpan<byte> query, int nameLength)
    {
        if ((response[2] & 0x80) == 0 || (response[2] & 0x78) != 0) return QuestionMatch.Other; // QR=1, opcode QUERY
        if (response[4] != 0 || response[5] != 1) return QuestionMatch.Other;
        int end = DnsHeader.Size + nameLength + 4;
        if (response.Length < end) return QuestionMatch.Other;
        var theirs = response[DnsHeader.Size..end];
        var ours = query[DnsHeader.Size..end];
        if (theirs.SequenceEqual(ours)) return QuestionMatch.Exact;
        for (int i = 0; i < theirs.Length; i++)
        {
            byte a = theirs[i], b = ours[i];
            if (a == b) continue;
            if ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z' || i >= nameLength) return QuestionMatch.Other;
        }
        return QuestionMatch.CaseDiffers;
    }

    /// <summary>Flips the letters of a wire-form name to random case (length octets are left alone).</summary>
    private static void RandomiseCase(Span<byte> name)
    {
        Span<byte> bits = stackalloc byte[32];
        SecureRandomBytes.Fill(bits);
        int pos = 0;
        while (pos < name.Length && name[pos] != 0)
        {
            int len = name[pos];
            for (int i = pos + 1; i <= pos + len && i < name.Length; i++)
            {
                byte c = name[i];
                int lower = c | 0x20;
                if (lower < 'a' || lower > 'z') continue;
                bool upper = (bits[(i >> 3) & 31] & (1 << (i & 7))) != 0;
                name[i] = (byte)(upper ? lower & ~0x20 : lower);
            }
            pos += len + 1;
        }
    }

    private static DnsMessage WithoutEdns(DnsMessage query)
    {
        var plain = new DnsMessage { Id = query.Id, Flags = query.Flags, Opcode = query.Opcode };
        plain.Questions.AddRange(query.Questions);
        return plain;
    }

    // ---------------------------------------------------------------------------------------------------------
    // TCP and TLS

    private async ValueTask<ExchangeResult> ExchangeStreamAsync(DnsMessage query, IPEndPoint server, UpstreamTransport transport, string? tlsName)
    {
        var address = server.Address;
        var frame = ArrayPool<byte>.Shared.Rent(QueryBufferSize);
        try
        {
            int length = query.WriteTo(frame.AsSpan(2, QueryBufferSize - 2));
            var rto = Infrastructure.GetRto(address);
            var timeout = rto < Options.StreamTimeout ? Options.StreamTimeout : rto;
            string? name = transport == UpstreamTransport.Tls ? tlsName : null;
            var connection = _pool.Acquire(server, name);
            bool reused = connection.Answered > 0;
            var (reply, id) = await connection.ExchangeAsync(frame, length, timeout, _lifetime.Token).ConfigureAwait(false);
            if (reply.Status == StreamStatus.Closed && reused)
            {
                // RFC 7766 §6.2.1: the server may close an idle connection at any time; retry once on a new one.
                connection = _pool.Acquire(server, name, fresh: true);
                reused = false;
                (reply, id) = await connection.ExchangeAsync(frame, length, timeout, _lifetime.Token).ConfigureAwait(false);
            }
            switch (reply.Status)
            {
                case StreamStatus.Timeout:
                    Infrastructure.RecordTimeout(address, rto);
                    Metrics.Count(address, UpstreamEvent.Timeout);
                    return ExchangeResult.Timeout(reply.RoundTrip, transport);
                case StreamStatus.Closed:
                    Infrastructure.RecordNetworkError(address);
                    Metrics.Count(address, UpstreamEvent.NetworkError);
                    return ExchangeResult.Failed(ExchangeStatus.NetworkError, transport);
            }
            try
            {
                var wire = reply.Buffer.AsSpan(0, reply.Length);
                if (wire.Length < DnsHeader.Size || BinaryPrimitives.ReadUInt16BigEndian(wire) != id)
                    return Malformed(address, transport);
                DnsMessage response;
                try
                {
                    response = DnsMessage.Parse(wire);
                }
                catch (DnsFormatException)
                {
                    return Malformed(address, transport);
                }
                if (!Bailiwick.QuestionMatches(response, query.Question))
                {
                    Metrics.Count(address, UpstreamEvent.SpoofDrop);
                    return Malformed(address, transport);
                }
                // Karn: a round trip that included opening the connection is not a clean RTT sample.
                if (reused) Infrastructure.RecordRtt(address, reply.RoundTrip);
                Metrics.Rtt(address, reply.RoundTrip);
                Metrics.Count(address, UpstreamEvent.Response);
                if (Infrastructure.GetTransportSupport(address, transport) != Capability.Works)
                    Infrastructure.SetTransportSupport(address, transport, Capability.Works);
                return ExchangeResult.Ok(response, reply.RoundTrip, transport);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(reply.Buffer!);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    private ExchangeResult Malformed(IPAddress address, UpstreamTransport transport)
    {
        Metrics.Count(address, UpstreamEvent.Malformed);
        return ExchangeResult.Failed(ExchangeStatus.MalformedResponse, transport);
    }

    public void Dispose()
    {
        _lifetime.Cancel();
        _pool.Dispose();
        _udpSockets.Dispose();
        _lifetime.Dispose();
    }
}
