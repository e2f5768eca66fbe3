using System.Diagnostics;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Infrastructure;
using Ananas.Resolver.Tests.Fakes;
using Ananas.Tests.Lab;

namespace Ananas.Resolver.Tests.Lab;

/// <summary>The real recursor and conductor against a real authoritative server (NSD) on loopback. Bounded in time.</summary>
[Trait("Category", "EndToEnd")]
[Collection("Loopback sockets")]
public sealed class NsdEndToEndTests
{
    [Fact]
    public async Task Resolves_www_example_test_from_an_nsd_hierarchy()
    {
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        var started = Stopwatch.GetTimestamp();
        await using var lab = await NsdHierarchy.StartAsync(TimeSpan.FromSeconds(10));
        var infrastructure = new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance);
        using var conductor = new Resolver.Conductor.Conductor(new Resolver.Conductor.ConductorOptions(), infrastructure);
        var recursor = LabRecursor(RootHints.Parse(await File.ReadAllTextAsync(lab.RootHintsFile)), conductor);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));

        var www = await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(1, DnsName.Parse("www.example.test."), RRType.A)), conductor, timeout.Token);
        Assert.Equal(Rcode.NoError, www.Message.Rcode);
        Assert.Equal(["www.example.test A 192.0.2.80"], Answers.Lines(www.Message.Answers));

        var alias = await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(2, DnsName.Parse("alias.example.test."), RRType.A)), conductor, timeout.Token);
        Assert.Equal(["alias.example.test CNAME www.example.test.", "www.example.test A 192.0.2.80"], Answers.Lines(alias.Message.Answers));

        var missing = await recursor.ResolveAsync(new Request(DnsMessage.CreateQuery(3, DnsName.Parse("nope.example.test."), RRType.A)), conductor, timeout.Token);
        Assert.Equal(Rcode.NXDomain, missing.Message.Rcode);

        // NSD serves every zone on the root's address, which answers all three questions itself (the example.test NS
        // set it names in its answers is no delegation: no parent referred to it), so the root server is the one whose
        // EDNS support the conductor learnt.
        Assert.Equal(EdnsSupport.Supported, infrastructure.GetEdnsSupport(lab.RootAddress));
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(20));
    }

    /// <summary>A recursor on the real clock and conductor, starting at <paramref name="hints"/> (loopback servers allowed, IPv4 only).</summary>
    internal static Recursor LabRecursor(RootHints hints, Resolver.Conductor.Conductor conductor)
    {
        var options = new RecursorOptions { RootHints = hints, DoNotQueryLocalhost = false, UseIPv6 = false };
        return new Recursor(options, SystemClock.Instance, new RecordCache(SystemClock.Instance),
            conductor.CreateSelector(SecureRandom.Instance), new LameServerList(SystemClock.Instance, options.LameHoldDown));
    }
}
