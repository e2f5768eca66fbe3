using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;
using Ananas.Server.Configuration;
using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// A signed hierarchy served by two in-process <c>auth serve</c> instances on random loopback addresses (port 53):
/// the root zone (ECDSA P-256, online-signed, DS records for its children) on <see cref="RootAddress"/>, and on
/// <see cref="ZoneAddress"/> the children <c>secure.</c> (ECDSA P-256), <c>ed.</c> (Ed25519), <c>tampered.</c>
/// (signed, but delegated to <see cref="TamperAddress"/>, a relay that alters one octet of every RRSIG's signature on
/// the way) and <c>insecure.</c> (no keys, no DS). Each child has <c>www A 192.0.2.80</c>, <c>*.wild A 192.0.2.99</c> and the empty non-terminal <c>ent</c>.
/// </summary>
internal sealed class SignedAuthLab : IAsyncDisposable
{
    public const string WwwAddress = "192.0.2.80";

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task<int>> _servers = [];
    private readonly Socket _relay;
    private Task? _relaying;

    private SignedAuthLab(string directory, IPAddress root, IPAddress zones, IPAddress tamper)
    {
        Directory = directory;
        RootAddress = root;
        ZoneAddress = zones;
        TamperAddress = tamper;
        _relay = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        _relay.Bind(new IPEndPoint(tamper, 53));
    }

    public IPAddress TamperAddress { get; }

    public string Directory { get; }

    public IPAddress RootAddress { get; }

    public IPAddress ZoneAddress { get; }

    /// <summary>The root key's DS, in presentation form: the lab's only trust anchor.</summary>
    public string RootDs { get; private set; } = "";

    public static async Task<SignedAuthLab> StartAsync()
    {
        var lab = new SignedAuthLab(Path.Combine(Path.GetTempPath(), $"ananas-signed-auth-{Guid.NewGuid():N}"),
            NsdHierarchy.FreeLoopbackAddress(), NsdHierarchy.FreeLoopbackAddress(), NsdHierarchy.FreeLoopbackAddress());
        var rootText = new System.Text.StringBuilder($"""
            $TTL 3600
            .          86400 IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
            .          86400 IN NS  a.root.
            a.root.    86400 IN A   {lab.RootAddress}

            """);
        using (var children = new EdgeStore(Path.Combine(lab.Directory, "children")))
        {
            var images = new List<ZoneImage>();
            foreach (var child in new[] { "secure.", "ed.", "tampered.", "insecure." })
            {
                images.Add(Image(child, $"""
                    $ORIGIN {child}
                    $TTL 3600
                    @        IN SOA ns1 hostmaster 1 7200 3600 1209600 300
                    @        IN NS  ns1
                    ns1      IN A   {lab.ZoneAddress}
                    www  300 IN A   {WwwAddress}
                    *.wild   IN A   192.0.2.99
                    a.ent    IN A   192.0.2.7
                    """));
                var server = child == "tampered." ? lab.TamperAddress : lab.ZoneAddress;
                rootText.Append($"{child} IN NS ns1.{child}\nns1.{child} IN A {server}\n");
            }
            ZoneWriter.Replace(children, images);
            var keys = new List<(string Zone, SigningKey Key)>
            {
                ("secure.", KeyTable.Generate(children, DnsName.Parse("secure."), SigningKey.EcdsaP256Sha256, DateTimeOffset.UtcNow)),
                ("ed.", KeyTable.Generate(children, DnsName.Parse("ed."), SigningKey.Ed25519, DateTimeOffset.UtcNow)),
                ("tampered.", KeyTable.Generate(children, DnsName.Parse("tampered."), SigningKey.EcdsaP256Sha256, DateTimeOffset.UtcNow)),
            };
            foreach (var (zone, key) in keys) rootText.Append(Ds(zone, key)).Append('\n');
        }
        using (var root = new EdgeStore(Path.Combine(lab.Directory, "root")))
        {
            ZoneWriter.Replace(root, [Image(".", rootText.ToString())]);
            lab.RootDs = Ds(".", KeyTable.Generate(root, DnsName.Root, SigningKey.EcdsaP256Sha256, DateTimeOffset.UtcNow));
        }
        await File.WriteAllTextAsync(Path.Combine(lab.Directory, "root.hints"), $".  3600000 NS a.root.\na.root. 3600000 A {lab.RootAddress}\n");
        await File.WriteAllTextAsync(Path.Combine(lab.Directory, "trust-anchor.ds"), lab.RootDs + "\n");
        lab.Serve("root", lab.RootAddress);
        lab.Serve("children", lab.ZoneAddress);
        lab._relaying = Task.Run(lab.RelayAsync);
        for (int i = 0; i < 100; i++)
        {
            if (await NsdHierarchy.AnswersAsync(lab.RootAddress) && await NsdHierarchy.AnswersAsync(lab.ZoneAddress, DnsName.Parse("secure."))) return lab;
            foreach (var server in lab._servers)
                if (server.IsCompleted) throw new InvalidOperationException($"auth serve stopped with {await server}");
            await Task.Delay(100);
        }
        await lab.DisposeAsync();
        throw new TimeoutException("auth serve did not answer in time");
    }

    private void Serve(string store, IPAddress address)
    {
        var settings = ConfigLoader.Defaults();
        settings.Listen = [ListenAddress.Parse($"udp://{address}:53"), ListenAddress.Parse($"tcp://{address}:53")];
        settings.Allow = ["0.0.0.0/0"];
        settings.MetricsListen = "";
        settings.LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning;
        var path = Path.Combine(Directory, store);
        _servers.Add(Task.Run(() => AuthCommand.RunAsync(path, settings, AuthCommand.OptionsFor(settings), _stop.Token)));
    }

    private static ZoneImage Image(string origin, string text)
    {
        var file = Ananas.Dns.Zones.ZoneFileReader.Parse(text, origin + "zone", DnsName.Parse(origin));
        file.ThrowIfErrors();
        return ZoneImage.Build(DnsName.Parse(origin), file.Records.Select(r => r.Record));
    }

    private static string Ds(string zone, SigningKey key)
    {
        var apex = DnsName.Parse(zone);
        return $"{apex} 3600 IN DS {new DsData(key.KeyTag, key.Algorithm, DsMatcher.Sha256, DsMatcher.ComputeDigest(apex, key.Dnskey, DsMatcher.Sha256)!)}";
    }

    /// <summary>
    /// Forwards each query (UDP) to the zone server and sends the reply back with the last octet of every RRSIG
    /// signature changed, as an attacker on the path would: the data is intact, the signatures no longer verify.
    /// </summary>
    private async Task RelayAsync()
    {
        var buffer = new byte[65535];
        var upstream = new IPEndPoint(ZoneAddress, 53);
        while (!_stop.IsCancellationRequested)
        {
            SocketReceiveFromResult received;
            try
            {
                received = await _relay.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0), _stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            var query = buffer.AsSpan(0, received.ReceivedBytes).ToArray();
            using var forward = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            forward.Connect(upstream);
            await forward.SendAsync(query, SocketFlags.None);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                int n = await forward.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                var reply = DnsMessage.Parse(buffer.AsSpan(0, n));
                foreach (var section in new[] { reply.Answers, reply.Authority })
                {
                    for (int i = 0; i < section.Count; i++)
                    {
                        if (section[i].Data is not RrsigData sig) continue;
                        var altered = sig.Signature.ToArray();
                        altered[^1] ^= 0x5A;
                        section[i] = section[i] with
                        {
                            Data = new RrsigData(sig.TypeCovered, sig.Algorithm, sig.Labels, sig.OriginalTtl, sig.Expiration, sig.Inception, sig.KeyTag, sig.SignerName, altered),
                        };
                    }
                }
                await _relay.SendToAsync(reply.ToArray(), SocketFlags.None, received.RemoteEndPoint);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or DnsFormatException)
            {
            }
        }
    }

    /// <summary>Asks <paramref name="server"/> over UDP with RD and DO (5 s at most); null on timeout.</summary>
    public static async Task<DnsMessage?> AskAsync(IPAddress server, string name, RRType type, bool compactOk = false)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(new IPEndPoint(server, 53));
        var query = DnsMessage.CreateQuery((ushort)Random.Shared.Next(1, 65535), DnsName.Parse(name), type, recursionDesired: true, dnssecOk: true);
        query.Edns!.UdpPayloadSize = 1232;
        if (compactOk) query.Edns.OtherFlags = 0x4000;
        await socket.SendAsync(query.ToArray(), SocketFlags.None);
        var buffer = new byte[65535];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n >= 12 && BinaryPrimitives.ReadUInt16BigEndian(buffer) == query.Id) return DnsMessage.Parse(buffer.AsSpan(0, n));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException)
        {
            return null; // not listening yet (port unreachable), or no answer in time
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _relay.Dispose();
        if (_relaying is not null) await _relaying.WaitAsync(TimeSpan.FromSeconds(5));
        foreach (var server in _servers)
        {
            try
            {
                await server.WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
