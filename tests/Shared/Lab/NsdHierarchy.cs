using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;

namespace Ananas.Tests.Lab;

/// <summary>
/// A real authoritative hierarchy served by NSD (the Debian <c>nsd</c> package, installed by scripts/setup.sh) on
/// two random loopback addresses: the root zone on <see cref="RootAddress"/>, <c>test.</c> and
/// <c>example.test.</c> on <see cref="TldAddress"/> (NSD serves every zone on both). Everything lives in a temp
/// directory; NSD runs in the foreground as a child process and is killed on dispose. Meant to grow into the
/// benchmark lab (more zones, more servers).
/// </summary>
public sealed class NsdHierarchy : IAsyncDisposable
{
    public const string WwwAddress = "192.0.2.80";

    private readonly Process _nsd;

    private NsdHierarchy(string directory, IPAddress root, IPAddress tld, Process nsd)
    {
        Directory = directory;
        RootAddress = root;
        TldAddress = tld;
        _nsd = nsd;
    }

    public string Directory { get; }

    public IPAddress RootAddress { get; }

    public IPAddress TldAddress { get; }

    /// <summary>A named.root-style hints file pointing at the lab's root.</summary>
    public string RootHintsFile => Path.Combine(Directory, "root.hints");

    public static string? FindNsd()
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin" })
            if (File.Exists(Path.Combine(dir, "nsd"))) return Path.Combine(dir, "nsd");
        return null;
    }

    public static async Task<NsdHierarchy> StartAsync(TimeSpan startTimeout)
    {
        var nsdPath = FindNsd() ?? throw new InvalidOperationException("nsd is not installed: run scripts/setup.sh (apt-get install nsd)");
        var root = FreeLoopbackAddress();
        var tld = FreeLoopbackAddress();
        var dir = Path.Combine(Path.GetTempPath(), $"ananas-nsd-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "root.zone"), $"""
            $TTL 3600
            .            86400 IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
            .            86400 IN NS  a.root.
            a.root.      86400 IN A   {root}
            test.        86400 IN NS  ns1.test.
            ns1.test.    86400 IN A   {tld}
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "test.zone"), $"""
            $ORIGIN test.
            $TTL 3600
            @            IN SOA ns1 hostmaster 1 7200 3600 1209600 300
            @            IN NS  ns1
            ns1          IN A   {tld}
            example      IN NS  ns1.example
            ns1.example  IN A   {tld}
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "example.test.zone"), $"""
            $ORIGIN example.test.
            $TTL 3600
            @            IN SOA ns1 hostmaster 1 7200 3600 1209600 300
            @            IN NS  ns1
            ns1          IN A   {tld}
            www      300 IN A   {WwwAddress}
            alias        IN CNAME www
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "nsd.conf"), NsdServerSection(dir, root, tld) + $"""
            zone:
                name: "."
                zonefile: "root.zone"
            zone:
                name: "test."
                zonefile: "test.zone"
            zone:
                name: "example.test."
                zonefile: "example.test.zone"
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "root.hints"), $"""
            .          3600000 NS a.root.
            a.root.    3600000 A  {root}
            """);

        var nsd = StartProcess(dir, nsdPath);
        var lab = new NsdHierarchy(dir, root, tld, nsd);
        var deadline = Stopwatch.GetTimestamp() + (long)(startTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (nsd.HasExited)
            {
                string log = File.Exists(Path.Combine(dir, "nsd.log")) ? await File.ReadAllTextAsync(Path.Combine(dir, "nsd.log")) : "";
                string err = await nsd.StandardError.ReadToEndAsync();
                await lab.DisposeAsync();
                throw new InvalidOperationException($"nsd exited with {nsd.ExitCode}: {err} {log}");
            }
            if (await AnswersAsync(tld) && await AnswersAsync(root)) return lab;
            await Task.Delay(100);
        }
        await lab.DisposeAsync();
        throw new TimeoutException("nsd did not answer in time");
    }

    /// <summary>Starts NSD in the foreground on <paramref name="dir"/>/nsd.conf (its output redirected, unread).</summary>
    internal static Process StartProcess(string dir, string? nsdPath = null) =>
        Process.Start(new ProcessStartInfo(nsdPath ?? FindNsd()!, ["-c", Path.Combine(dir, "nsd.conf"), "-d"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not start nsd");

    /// <summary>True when the server answers an SOA query for <paramref name="zone"/> (the root by default) over UDP within 200 ms.</summary>
    internal static async Task<bool> AnswersAsync(IPAddress address, DnsName? zone = null)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            socket.Connect(new IPEndPoint(address, 53));
            var query = DnsMessage.CreateQuery(4321, zone ?? DnsName.Root, RRType.SOA, recursionDesired: false);
            using var timeout = new CancellationTokenSource(200);
            await socket.SendAsync(query.ToArray(), SocketFlags.None, timeout.Token);
            var buffer = new byte[4096];
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            return n >= 12 && DnsMessage.Parse(buffer.AsSpan(0, n)).Rcode == Rcode.NoError;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or DnsFormatException)
        {
            return false;
        }
    }

    /// <summary>A random 127.x.y.z whose port 53 is free (UDP and TCP), so parallel labs do not collide.</summary>
    /// <summary>
    /// The <c>server:</c> and <c>remote-control:</c> sections of an nsd.conf for a lab in <paramref name="dir"/>:
    /// port 53 on each address, no privileges dropped, every state file in the directory. Zones follow.
    /// </summary>
    internal static string NsdServerSection(string dir, params IPAddress[] addresses)
    {
        var text = new System.Text.StringBuilder("server:\n");
        foreach (var address in addresses) text.Append("    ip-address: ").Append(address).Append('\n');
        text.Append($"""
                port: 53
                username: ""
                chroot: ""
                zonesdir: "{dir}"
                pidfile: "{dir}/nsd.pid"
                database: ""
                zonelistfile: "{dir}/zone.list"
                xfrdfile: "{dir}/xfrd.state"
                xfrdir: "{dir}"
                logfile: "{dir}/nsd.log"
                server-count: 1
                verbosity: 1
            remote-control:
                control-enable: no

            """);
        return text.ToString();
    }

    internal static IPAddress FreeLoopbackAddress()
    {
        for (int attempt = 0; ; attempt++)
        {
            var address = new IPAddress([127, (byte)Random.Shared.Next(100, 250), (byte)Random.Shared.Next(0, 256), (byte)Random.Shared.Next(1, 255)]);
            try
            {
                using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
                udp.Bind(new IPEndPoint(address, 53));
                using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                tcp.Bind(new IPEndPoint(address, 53));
                return address;
            }
            catch (SocketException) when (attempt < 50)
            {
            }
        }
    }

    public ValueTask DisposeAsync() => StopAsync(_nsd, Directory);

    /// <summary>Stops an NSD process and deletes its working directory (shared with the signed lab).</summary>
    internal static async ValueTask StopAsync(Process nsd, string directory)
    {
        try
        {
            if (!nsd.HasExited)
            {
                nsd.Kill(entireProcessTree: true);
                await nsd.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(5));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
        }
        nsd.Dispose();
        try
        {
            System.IO.Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
