using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Resolver.Dnssec;
using Ananas.Tests.Lab;

namespace Ananas.Resolver.Tests.Lab;

/// <summary>
/// A DNSSEC-signed hierarchy served by NSD on two random loopback addresses, keys made by <c>ldns-keygen</c> and zones
/// signed by <c>ldns-signzone</c> (Debian ldnsutils, installed by scripts/setup.sh). The root (ECDSA P-256, NSEC) is
/// on <see cref="RootAddress"/>; its children are on <see cref="ZoneAddress"/>:
/// <list type="bullet">
/// <item><c>secure.</c>: ECDSA P-256 with NSEC, DS in the root.</item>
/// <item><c>insecure.</c>: unsigned, no DS (the root's NSEC proves it).</item>
/// <item><c>tampered.</c>: signed, then <c>www</c>'s address changed after signing.</item>
/// <item><c>expired.</c>: signed with a validity period that ended in 2020.</item>
/// <item><c>ed.</c>: Ed25519 (algorithm 15).</item>
/// <item><c>optout.</c>: NSEC3 with opt-out, delegating <c>unsigned.optout.</c> without DS.</item>
/// </list>
/// Every zone has <c>www A 192.0.2.80</c>. Everything lives in a temp directory; NSD is killed on dispose.
/// </summary>
public sealed class SignedNsdHierarchy : IAsyncDisposable
{
    public const string WwwAddress = "192.0.2.80";

    private readonly Process _nsd;

    private SignedNsdHierarchy(string directory, IPAddress root, IPAddress zones, Process nsd, TrustAnchors anchors)
    {
        Directory = directory;
        RootAddress = root;
        ZoneAddress = zones;
        _nsd = nsd;
        TrustAnchors = anchors;
    }

    public string Directory { get; }

    public IPAddress RootAddress { get; }

    public IPAddress ZoneAddress { get; }

    /// <summary>The DS of the lab's root key, as the only trust anchor.</summary>
    public TrustAnchors TrustAnchors { get; }

    /// <summary>Null when NSD, ldns-signzone, ldns-keygen and ldns-key2ds are all installed; otherwise what is missing.</summary>
    public static string? MissingTools()
    {
        var missing = new List<string>();
        if (NsdHierarchy.FindNsd() is null) missing.Add("nsd");
        foreach (var tool in new[] { "ldns-signzone", "ldns-keygen", "ldns-key2ds" })
            if (Find(tool) is null) missing.Add(tool);
        return missing.Count == 0 ? null : string.Join(", ", missing) + " not installed: run scripts/setup.sh (Debian packages nsd, ldnsutils)";
    }

    private static string? Find(string tool)
    {
        foreach (var dir in new[] { "/usr/bin", "/usr/local/bin", "/usr/sbin" })
            if (File.Exists(Path.Combine(dir, tool))) return Path.Combine(dir, tool);
        return null;
    }

    public static async Task<SignedNsdHierarchy> StartAsync(TimeSpan startTimeout)
    {
        var root = NsdHierarchy.FreeLoopbackAddress();
        var zones = NsdHierarchy.FreeLoopbackAddress();
        var dir = Path.Combine(Path.GetTempPath(), $"ananas-signed-nsd-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);

        string Child(string origin) => $"""
            $ORIGIN {origin}
            $TTL 3600
            @    IN SOA ns1 hostmaster 1 7200 3600 1209600 300
            @    IN NS  ns1
            ns1  IN A   {zones}
            www  IN A   {WwwAddress}

            """;
        var rootText = new StringBuilder($"""
            $TTL 3600
            .          86400 IN SOA a.root. hostmaster.root. 1 1800 900 604800 86400
            .          86400 IN NS  a.root.
            a.root.    86400 IN A   {root}

            """);
        var zoneFiles = new List<string>();
        async Task<string> SignedChild(string origin, string algorithm, params string[] signOptions)
        {
            string file = origin.TrimEnd('.') + ".zone";
            var text = Child(origin);
            if (origin == "optout.") text += $"unsigned IN NS ns1.unsigned\nns1.unsigned IN A {zones}\n";
            await File.WriteAllTextAsync(Path.Combine(dir, file), text);
            var key = (await RunAsync(dir, "ldns-keygen", "-a", algorithm, "-k", origin)).Trim();
            await RunAsync(dir, "ldns-signzone", [.. signOptions, "-f", file + ".signed", file, key]);
            rootText.Append($"{origin} IN NS ns1.{origin}\nns1.{origin} IN A {zones}\n");
            rootText.Append(await RunAsync(dir, "ldns-key2ds", "-n", "-2", key + ".key"));
            zoneFiles.Add(origin);
            return Path.Combine(dir, file + ".signed");
        }

        await SignedChild("secure.", "ECDSAP256SHA256");
        var tampered = await SignedChild("tampered.", "ECDSAP256SHA256");
        // Changed after signing: the RRSIG no longer matches the data.
        var signedText = await File.ReadAllTextAsync(tampered);
        var forged = signedText.Replace($"IN\tA\t{WwwAddress}", "IN\tA\t192.0.2.81");
        if (forged == signedText) throw new InvalidOperationException("could not find www's address in the signed tampered. zone");
        await File.WriteAllTextAsync(tampered, forged);
        await SignedChild("expired.", "ECDSAP256SHA256", "-i", "20200101000000", "-e", "20200201000000");
        await SignedChild("ed.", "ED25519");
        await SignedChild("optout.", "ECDSAP256SHA256", "-n", "-p");
        await File.WriteAllTextAsync(Path.Combine(dir, "insecure.zone.signed"), Child("insecure."));
        rootText.Append($"insecure. IN NS ns1.insecure.\nns1.insecure. IN A {zones}\n");
        zoneFiles.Add("insecure.");
        await File.WriteAllTextAsync(Path.Combine(dir, "unsigned.optout.zone.signed"), Child("unsigned.optout."));
        zoneFiles.Add("unsigned.optout.");

        await File.WriteAllTextAsync(Path.Combine(dir, "root.zone"), rootText.ToString());
        var rootKey = (await RunAsync(dir, "ldns-keygen", "-a", "ECDSAP256SHA256", "-k", ".")).Trim();
        await RunAsync(dir, "ldns-signzone", "-f", "root.zone.signed", "root.zone", rootKey);
        var anchors = new TrustAnchors();
        anchors.Add(RecordText.Parse((await RunAsync(dir, "ldns-key2ds", "-n", "-2", rootKey + ".key")).Trim(), DnsName.Root));

        // NSD serves every zone on both addresses; the delegations send the resolver to the second one.
        var conf = new StringBuilder(NsdHierarchy.NsdServerSection(dir, root, zones) + $"""
            zone:
                name: "."
                zonefile: "root.zone.signed"

            """);
        foreach (var origin in zoneFiles)
            conf.Append($"zone:\n    name: \"{origin}\"\n    zonefile: \"{origin.TrimEnd('.')}.zone.signed\"\n");
        await File.WriteAllTextAsync(Path.Combine(dir, "nsd.conf"), conf.ToString());

        var nsd = NsdHierarchy.StartProcess(dir);
        var lab = new SignedNsdHierarchy(dir, root, zones, nsd, anchors);
        var deadline = Stopwatch.GetTimestamp() + (long)(startTimeout.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            if (nsd.HasExited)
            {
                string log = File.Exists(Path.Combine(dir, "nsd.log")) ? await File.ReadAllTextAsync(Path.Combine(dir, "nsd.log")) : "";
                await lab.DisposeAsync();
                throw new InvalidOperationException($"nsd exited with {nsd.ExitCode}: {log}");
            }
            if (await NsdHierarchy.AnswersAsync(root) && await NsdHierarchy.AnswersAsync(zones, DnsName.Parse("secure."))) return lab;
            await Task.Delay(100);
        }
        await lab.DisposeAsync();
        throw new TimeoutException("nsd did not answer in time");
    }

    /// <summary>Runs an ldns tool in <paramref name="directory"/> (bounded to 30 s) and returns its standard output.</summary>
    private static async Task<string> RunAsync(string directory, string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(Find(tool) ?? throw new InvalidOperationException($"{tool} is not installed"), arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {tool}");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
        return await output;
    }

    public ValueTask DisposeAsync() => NsdHierarchy.StopAsync(_nsd, Directory);
}
