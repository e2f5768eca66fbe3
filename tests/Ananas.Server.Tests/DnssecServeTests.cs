using System.Net;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Tests.Fakes;
using Ananas.Tests.Lab;

namespace Ananas.Server.Tests;

/// <summary>
/// DNSSEC as `ananas serve` configures it: on by default with the built-in root trust anchor (the real root's
/// KSKs), a trust-anchor file, negative trust anchors, and the --trust-anchor flag. The NSD lab is unsigned and
/// has its own root: under the real root's anchor its root has no DNSKEY that matches, so its answers are bogus
/// (SERVFAIL with an Extended DNS Error) unless the client sets CD or a negative trust anchor covers the name.
/// </summary>
[Trait("Category", "EndToEnd")]
public sealed class DnssecServeTests
{
    [Fact]
    public async Task Validation_is_on_by_default_and_a_negative_trust_anchor_lifts_it_after_a_reload()
    {
        Assert.True(ServeCommandDefaults().DnssecValidation);
        Assert.True(NsdHierarchy.FindNsd() is not null, "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)");
        int port = FreePorts.Tcp();
        string[] listen = [$"udp://127.0.0.1:{port}"];
        // The lab's configuration with the [dnssec] section left at its defaults (validation on, built-in anchor).
        await using var lab = await ServedLab.StartAsync(listen, dnssec: "");
        var server = new IPEndPoint(IPAddress.Loopback, port);

        var bogus = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 1, udpPayload: 1232));
        Assert.Equal(Rcode.ServFail, bogus.Rcode);
        Assert.NotEmpty(bogus.Edns!.Options.OfType<ExtendedErrorOption>());

        // CD (checking disabled): the same data, unvalidated.
        var unchecked_ = DnsTestClient.Query("www.example.test", id: 2, udpPayload: 1232);
        unchecked_.Set(HeaderFlags.CD);
        var answer = await DnsTestClient.UdpAsync(server, unchecked_);
        Assert.Equal(Rcode.NoError, answer.Rcode);
        Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(answer.Answers).Data.ToString());

        // A negative trust anchor for the lab's zone, applied by a reload: answered, insecure (no AD).
        await File.WriteAllTextAsync(lab.ConfigPath, ServedLab.ConfigText(lab.Nsd, listen, new Uri(lab.Control).Port,
            dnssec: "negative-trust-anchors = [\"example.test\"]"));
        var reloaded = await lab.Host.ReloadAsync("test");
        Assert.True(reloaded.Ok, reloaded.Error);
        Assert.Equal(["dnssec.negative-trust-anchors"], reloaded.Applied);
        var lifted = await DnsTestClient.UdpAsync(server, DnsTestClient.Query("www.example.test", id: 3, udpPayload: 1232));
        Assert.Equal(Rcode.NoError, lifted.Rcode);
        Assert.False(lifted.Has(HeaderFlags.AD));
        Assert.Equal(NsdHierarchy.WwwAddress, Assert.Single(lifted.Answers).Data.ToString());
    }

    [Fact]
    public async Task A_bad_trust_anchor_file_stops_serve_with_its_line()
    {
        var anchors = Path.GetTempFileName();
        await File.WriteAllTextAsync(anchors, "; anchors\n. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\nexample. IN A 192.0.2.1\n");
        try
        {
            var config = ServeCommand.BuildConfig(null, [$"udp://127.0.0.1:{FreePorts.Tcp()}"], null, null, null, trustAnchor: anchors);
            Assert.Equal(anchors, config.TrustAnchorFile);
            config.MetricsListen = config.ControlListen = "";
            var error = new StringWriter();
            Assert.Equal(1, await ServeCommand.RunAsync(config, error, CancellationToken.None));
            Assert.Contains($"dnssec.trust-anchor: cannot use '{anchors}': {anchors}:3: a trust anchor is a DS or DNSKEY record, not A", error.ToString());
        }
        finally
        {
            File.Delete(anchors);
        }
    }

    private static Configuration.ServerConfig ServeCommandDefaults() => ServeCommand.BuildConfig(null, null, null, null, null);
}
