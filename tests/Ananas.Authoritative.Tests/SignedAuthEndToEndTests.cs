using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Dnssec;
using Ananas.Resolver.Infrastructure;
using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// Validators against online-signed zones: our resolver (in process, through the real conductor) and Unbound, each
/// with only the lab root's DS as trust anchor, resolving through signed delegations to <c>auth serve</c>
/// (<see cref="SignedAuthLab"/>). One lab for all cases.
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection("Loopback sockets")]
public sealed class SignedAuthEndToEndTests : IAsyncLifetime
{
    private SignedAuthLab? _lab;

    public async Task InitializeAsync() => _lab = await SignedAuthLab.StartAsync();

    public async Task DisposeAsync()
    {
        if (_lab is not null) await _lab.DisposeAsync();
    }

    /// <summary>Every validator must agree on these: (name, type, AD expected, answer expected).</summary>
    private static readonly (string Name, RRType Type, bool Secure, string? Address)[] Cases =
    [
        ("www.secure.", RRType.A, true, SignedAuthLab.WwwAddress),
        ("www.secure.", RRType.MX, true, null),        // NODATA
        ("nothing.secure.", RRType.A, true, null),     // compact NXDOMAIN
        ("ent.secure.", RRType.A, true, null),         // empty non-terminal
        ("a.b.wild.secure.", RRType.A, true, "192.0.2.99"), // wildcard
        ("www.ed.", RRType.A, true, SignedAuthLab.WwwAddress),
        ("nothing.ed.", RRType.TXT, true, null),
        ("www.insecure.", RRType.A, false, SignedAuthLab.WwwAddress),
    ];

    [Fact]
    public async Task Our_resolver_validates_positive_nodata_compact_nxdomain_and_wildcard_answers_and_rejects_a_bad_signature()
    {
        var options = new RecursorOptions
        {
            RootHints = RootHints.Parse($".  3600000 NS a.root.\na.root. 3600000 A {_lab!.RootAddress}\n"),
            DoNotQueryLocalhost = false,
            UseIPv6 = false,
            Validation = true,
            TrustAnchors = Anchors(_lab.RootDs),
        };
        var infrastructure = new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance);
        using var conductor = new Resolver.Conductor.Conductor(new Resolver.Conductor.ConductorOptions(), infrastructure);
        var recursor = new Recursor(options, SystemClock.Instance, new RecordCache(SystemClock.Instance),
            conductor.CreateSelector(SecureRandom.Instance), new LameServerList(SystemClock.Instance, options.LameHoldDown));
        async Task<DnsMessage> Ask(string name, RRType type)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var query = DnsMessage.CreateQuery(1, DnsName.Parse(name), type, RRClass.IN, recursionDesired: true, dnssecOk: true);
            return (await recursor.ResolveAsync(new Request(query), conductor, timeout.Token)).Message;
        }
        foreach (var (name, type, secure, address) in Cases) AssertVerdict("ananas", name, type, secure, address, await Ask(name, type));
        var bogus = await Ask("www.tampered.", RRType.A);
        Assert.Equal(Rcode.ServFail, bogus.Rcode);
        Assert.Equal(EdeCode.DnssecBogus, bogus.Edns?.Options.OfType<ExtendedErrorOption>().First().InfoCode);
    }

    [FactWhenUnboundInstalled]
    public async Task Unbound_validates_the_same_answers_and_calls_the_bad_signature_bogus()
    {
        var address = NsdHierarchy.FreeLoopbackAddress();
        var dir = Path.Combine(_lab!.Directory, "unbound");
        Directory.CreateDirectory(dir);
        await File.WriteAllTextAsync(Path.Combine(dir, "unbound.conf"), $"""
            server:
                interface: {address}
                port: 53
                num-threads: 1
                do-ip6: no
                access-control: 127.0.0.0/8 allow
                do-not-query-localhost: no
                root-hints: "{_lab.Directory}/root.hints"
                trust-anchor-file: "{_lab.Directory}/trust-anchor.ds"
                username: ""
                chroot: ""
                directory: "{dir}"
                pidfile: "{dir}/unbound.pid"
                use-syslog: no
                logfile: "{dir}/unbound.log"
                verbosity: 1
                val-log-level: 2
                ede: yes
            remote-control:
                control-enable: no
            """);
        using var unbound = Process.Start(new ProcessStartInfo(FactWhenUnboundInstalledAttribute.Find()!, ["-d", "-c", Path.Combine(dir, "unbound.conf")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            for (int i = 0; i < 20 && await SignedAuthLab.AskAsync(address, ".", RRType.SOA) is null; i++)
            {
                if (unbound.HasExited) Assert.Fail(await unbound.StandardError.ReadToEndAsync() + Log(dir));
                await Task.Delay(100);
            }
            foreach (var (name, type, secure, addr) in Cases)
            {
                var m = await SignedAuthLab.AskAsync(address, name, type);
                Assert.True(m is not null, $"unbound: no answer to {name} {type}");
                AssertVerdict("unbound", name, type, secure, addr, m!, Log(dir));
            }
            var bogus = await SignedAuthLab.AskAsync(address, "www.tampered.", RRType.A);
            Assert.Equal(Rcode.ServFail, bogus!.Rcode);
        }
        finally
        {
            unbound.Kill(entireProcessTree: true);
            await unbound.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    private static string Log(string dir) => File.Exists(Path.Combine(dir, "unbound.log")) ? File.ReadAllText(Path.Combine(dir, "unbound.log")) : "";

    private static void AssertVerdict(string validator, string name, RRType type, bool secure, string? address, DnsMessage m, string log = "")
    {
        string what = $"{validator}: {name} {type}\n{m}\n{log}";
        // A compact denial is NOERROR/NODATA to a validator that does not read NXNAME, NXDOMAIN to one that does.
        Assert.True(m.Rcode == Rcode.NoError || (address is null && m.Rcode == Rcode.NXDomain), what);
        Assert.True(m.Has(HeaderFlags.AD) == secure, what);
        if (address is null) Assert.DoesNotContain(m.Answers, r => r.Type == type);
        else Assert.Contains(m.Answers, r => r.Type == RRType.A && r.Data.ToString() == address);
    }

    private static TrustAnchors Anchors(string ds)
    {
        var anchors = new TrustAnchors();
        anchors.Add(RecordText.Parse(ds, DnsName.Root));
        return anchors;
    }
}

/// <summary>Skipped (not passed) when Unbound is not installed.</summary>
public sealed class FactWhenUnboundInstalledAttribute : FactAttribute
{
    public FactWhenUnboundInstalledAttribute()
    {
        if (Find() is null) Skip = "unbound is not installed: run scripts/setup.sh (it installs the Debian package unbound)";
    }

    public static string? Find()
    {
        foreach (var dir in new[] { "/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin" })
            if (File.Exists(Path.Combine(dir, "unbound"))) return Path.Combine(dir, "unbound");
        return null;
    }
}
