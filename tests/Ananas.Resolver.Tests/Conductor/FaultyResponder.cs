using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests.Conductor;

/// <summary>What a <see cref="FaultyResponder"/> does wrong. Fields may be changed while it runs.</summary>
public sealed class Faults
{
    /// <summary>Share of UDP queries ignored, in percent.</summary>
    public volatile int DropPercent;

    /// <summary>This many UDP queries are ignored before any other fault applies (counted down as they come).</summary>
    public int IgnoreNext;

    /// <summary>Wait this long before answering (UDP and TCP).</summary>
    public TimeSpan Delay;

    /// <summary>UDP answers carry TC=1 and no records; TCP answers are whole.</summary>
    public volatile bool TruncateUdp;

    /// <summary>Unparseable octets with the right ID come first, then the real answer.</summary>
    public volatile bool GarbageFirst;

    /// <summary>Only unparseable octets with the right ID come back over UDP.</summary>
    public volatile bool GarbageOnly;

    /// <summary>A forged answer (pointing at <see cref="FaultyResponder.Poison"/>) from another port comes first.</summary>
    public volatile bool SpoofFromWrongPort;

    /// <summary>A forged answer with another ID comes first.</summary>
    public volatile bool SpoofWrongId;

    /// <summary>A forged answer for another question (same ID) comes first.</summary>
    public volatile bool SpoofWrongQuestion;

    /// <summary>Queries with EDNS get FORMERR without an OPT record (a pre-EDNS server).</summary>
    public volatile bool FormErrToEdns;

    /// <summary>Answers the question in the letter case of the zone, not as asked (breaks 0x20).</summary>
    public volatile bool LowercaseQuestion;

    /// <summary>After each real answer, forged answers (its question, a guessed ID) sent from the server's own address
    /// and port to the querier's port: planted into the socket while it sits idle between exchanges.</summary>
    public volatile int PlantAfterAnswer;
}

/// <summary>
/// An authoritative server on a real loopback address (a random 127.x.y.z, port 53 unless given) over UDP and TCP,
/// answering from in-memory zones (<see cref="FakeAuthority.Answer"/>) with injectable faults. Counts what it receives.
/// Stops by itself after a minute at most.
/// </summary>
public sealed class FaultyResponder : IAsyncDisposable
{
    /// <summary>The address every forged answer points at: it must never reach a client.</summary>
    public static readonly IPAddress Poison = IPAddress.Parse("6.6.6.6");

    private readonly Socket _udp;
    private readonly Socket _spoofer;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromSeconds(60));
    private readonly Task _udpLoop;
    private readonly Task _tcpLoop;
    private readonly Random _random = new(1234);
    private readonly FakeServer _server = new();

    public FaultyResponder(int port = 53)
    {
        (_udp, _tcp) = BindSomewhere(port);
        EndPoint = (IPEndPoint)_udp.LocalEndPoint!;
        _spoofer = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _spoofer.Bind(new IPEndPoint(EndPoint.Address, 0));
        _udpLoop = ServeUdpAsync();
        _tcpLoop = ServeTcpAsync();
    }

    public IPEndPoint EndPoint { get; }

    public IPAddress Address => EndPoint.Address;

    public Faults Faults { get; } = new();

    public List<FakeZone> Zones => _server.Zones;

    public int UdpQueries;
    public int TcpQueries;
    public int TcpConnections;
    public int EdnsQueries;
    public int Dropped;

    /// <summary>Forged answers planted so far (<see cref="Faults.PlantAfterAnswer"/>).</summary>
    public int Planted;

    /// <summary>The source port of every UDP query, in the order they came.</summary>
    public ConcurrentQueue<int> SourcePorts { get; } = new();

    /// <summary>Queries received over both transports.</summary>
    public int Queries => Volatile.Read(ref UdpQueries) + Volatile.Read(ref TcpQueries);

    /// <summary>Binds UDP and TCP on the same random 127.x.y.z address (and port), trying others when taken.</summary>
    private static (Socket, TcpListener) BindSomewhere(int port)
    {
        for (int attempt = 0; ; attempt++)
        {
            var address = new IPAddress([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(1, 255)]);
            var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                udp.Bind(new IPEndPoint(address, port));
                var tcp = new TcpListener(address, ((IPEndPoint)udp.LocalEndPoint!).Port);
                tcp.Start();
                return (udp, tcp);
            }
            catch (SocketException) when (attempt < 50)
            {
                udp.Dispose();
            }
        }
    }

    private bool Drop()
    {
        int percent = Faults.DropPercent;
        if (percent <= 0) return false;
        lock (_random) return _random.Next(100) < percent;
    }

    private DnsMessage Respond(DnsMessage query)
    {
        if (query.Edns is not null) Interlocked.Increment(ref EdnsQueries);
        if (Faults.FormErrToEdns && query.Edns is not null)
        {
            var formErr = query.CreateResponse(Rcode.FormErr);
            formErr.Edns = null;
            return formErr;
        }
        var response = FakeAuthority.Answer(_server, query);
        if (Faults.LowercaseQuestion) response.Questions[0] = new Question(query.Question.Name.ToLowerCase(), query.Question.Type, query.Question.Class);
        return response;
    }

    private static byte[] Forged(DnsMessage query, ushort id, DnsName? name = null)
    {
        var q = query.Question;
        var forged = new DnsMessage { Id = id, Flags = HeaderFlags.QR | HeaderFlags.AA };
        var owner = name ?? q.Name;
        forged.Questions.Add(new Question(owner, q.Type, q.Class));
        forged.Answers.Add(new ResourceRecord(owner, RRClass.IN, 86400, new AddressData(Poison)));
        return forged.ToArray();
    }

    private async Task ServeUdpAsync()
    {
        var buffer = new byte[65535];
        try
        {
            while (true)
            {
                var r = await _udp.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
                Interlocked.Increment(ref UdpQueries);
                SourcePorts.Enqueue(((IPEndPoint)r.RemoteEndPoint).Port);
                DnsMessage query;
                try
                {
                    query = DnsMessage.Parse(buffer.AsSpan(0, r.ReceivedBytes));
                }
                catch (DnsFormatException)
                {
                    continue;
                }
                if (Interlocked.Decrement(ref Faults.IgnoreNext) >= 0 || Drop())
                {
                    Interlocked.Increment(ref Dropped);
                    continue;
                }
                _ = AnswerUdpAsync(query, r.RemoteEndPoint);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task AnswerUdpAsync(DnsMessage query, EndPoint client)
    {
        try
        {
            var token = _stop.Token;
            if (Faults.SpoofFromWrongPort) await _spoofer.SendToAsync(Forged(query, query.Id), SocketFlags.None, client, token);
            if (Faults.SpoofWrongId) await _udp.SendToAsync(Forged(query, (ushort)(query.Id ^ 0x5a5a)), SocketFlags.None, client, token);
            if (Faults.SpoofWrongQuestion) await _udp.SendToAsync(Forged(query, query.Id, DnsName.Parse("evil.example.test.")), SocketFlags.None, client, token);
            if (Faults.GarbageFirst || Faults.GarbageOnly)
            {
                var garbage = new byte[40];
                Random.Shared.NextBytes(garbage);
                BinaryPrimitives.WriteUInt16BigEndian(garbage, query.Id);
                garbage[2] = 0x84; // QR, AA
                garbage[4] = 0;
                garbage[5] = 1;
                garbage[6] = 0xff; // 65,000 answers that are not there
                await _udp.SendToAsync(garbage, SocketFlags.None, client, token);
                if (Faults.GarbageOnly) return;
            }
            if (Faults.Delay > TimeSpan.Zero) await Task.Delay(Faults.Delay, token);
            else if (Faults.SpoofFromWrongPort || Faults.SpoofWrongId || Faults.SpoofWrongQuestion || Faults.GarbageFirst) await Task.Delay(10, token);
            var response = Respond(query);
            if (Faults.TruncateUdp)
            {
                response.Answers.Clear();
                response.Authority.Clear();
                response.Additional.Clear();
                response.Set(HeaderFlags.TC);
            }
            await _udp.SendToAsync(response.ToArray(1232), SocketFlags.None, client, token);
            for (int i = 0; i < Faults.PlantAfterAnswer; i++)
            {
                await _udp.SendToAsync(Forged(query, (ushort)Random.Shared.Next(0x10000)), SocketFlags.None, client, token);
                Interlocked.Increment(ref Planted);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task ServeTcpAsync()
    {
        try
        {
            while (true)
            {
                var client = await _tcp.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref TcpConnections);
                _ = ServeConnectionAsync(client);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            // InvalidOperationException: the listener was stopped between two accepts.
        }
    }

    /// <summary>Answers every query on one connection, each as soon as it is ready (pipelining, out of order).</summary>
    private async Task ServeConnectionAsync(TcpClient client)
    {
        using var connection = client;
        var stream = client.GetStream();
        var writeLock = new SemaphoreSlim(1, 1);
        try
        {
            var prefix = new byte[2];
            while (true)
            {
                await stream.ReadExactlyAsync(prefix, _stop.Token);
                var body = new byte[BinaryPrimitives.ReadUInt16BigEndian(prefix)];
                await stream.ReadExactlyAsync(body, _stop.Token);
                Interlocked.Increment(ref TcpQueries);
                var query = DnsMessage.Parse(body);
                _ = Task.Run(async () =>
                {
                    try
                    {
                        if (Faults.Delay > TimeSpan.Zero) await Task.Delay(Faults.Delay, _stop.Token);
                        var answer = Respond(query).ToArray();
                        var framed = new byte[answer.Length + 2];
                        BinaryPrimitives.WriteUInt16BigEndian(framed, (ushort)answer.Length);
                        answer.CopyTo(framed, 2);
                        await writeLock.WaitAsync(_stop.Token);
                        try { await stream.WriteAsync(framed, _stop.Token); }
                        finally { writeLock.Release(); }
                    }
                    catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
                    {
                    }
                });
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or EndOfStreamException or DnsFormatException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _udp.Dispose();
        _spoofer.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }
}
