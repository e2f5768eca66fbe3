using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Authoritative.Answering;
using Ananas.Cli;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;
using Ananas.Tests.Lab;
using Xunit.Abstractions;

namespace Ananas.Authoritative.Tests;

/// <summary>
/// The same generated zones in NSD (Debian) and in <c>ananas auth serve</c> (composed as the CLI does), every
/// name asked for every type plus 10,000 names that do not exist, over UDP and TCP: flags, RCODE and every
/// section must be equal after ordering. Intended differences: ANY (RFC 8482, we send one RRset: it must be
/// one of NSD's). NSD runs with minimal-responses (no additional data beyond glue) and version/identity hidden.
/// </summary>
public sealed class NsdDifferentialTests(ITestOutputHelper output)
{
    private const int ZoneCount = 50;
    private const int Nonexistent = 10_000;
    private const int EveryTypeZones = 8;
    private static readonly RRType[] CommonTypes = [RRType.A, RRType.AAAA, RRType.NS, RRType.CNAME, RRType.SOA, RRType.MX, RRType.TXT, RRType.DS, RRType.SRV];

    [FactWhenNsdInstalled]
    public async Task Every_name_and_type_and_ten_thousand_missing_names_get_the_same_answers_as_NSD_over_UDP_and_TCP()
    {
        var dir = StoreFixture.TempDirectory();
        Directory.CreateDirectory(dir);
        var zones = DifferentialZones.Generate(ZoneCount, seed: 20);
        var files = new List<string>();
        var conf = new System.Text.StringBuilder();
        foreach (var (name, text) in zones)
        {
            var file = Path.Combine(dir, name.TrimEnd('.') + ".zone");
            await File.WriteAllTextAsync(file, text);
            files.Add(file);
            conf.Append($"zone:\n    name: \"{name}\"\n    zonefile: \"{file}\"\n");
        }
        var nsdAddress = NsdHierarchy.FreeLoopbackAddress();
        var oursAddress = NsdHierarchy.FreeLoopbackAddress();
        var serverSection = NsdHierarchy.NsdServerSection(dir, nsdAddress).Replace("server:\n",
            "server:\n    minimal-responses: yes\n    hide-version: yes\n    hide-identity: yes\n    refuse-any: no\n    rrl-ratelimit: 0\n", StringComparison.Ordinal);
        await File.WriteAllTextAsync(Path.Combine(dir, "nsd.conf"), serverSection + conf);

        using (var store = new Store.EdgeStore(Path.Combine(dir, "store")))
        {
            var log = new StringWriter();
            Assert.True(Ananas.Authoritative.Zones.ZoneImporter.Import(store, files, null, log) == 0, log.ToString());
        }

        using var nsd = Process.Start(new ProcessStartInfo(NsdHierarchy.FindNsd()!, ["-c", Path.Combine(dir, "nsd.conf"), "-d"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        using var stop = new CancellationTokenSource();
        var settings = ConfigLoader.Defaults();
        settings.Listen = [ListenAddress.Parse($"udp://{oursAddress}:53"), ListenAddress.Parse($"tcp://{oursAddress}:53")];
        settings.Allow = ["0.0.0.0/0"];
        settings.MetricsListen = "";
        var started = new TaskCompletionSource<AnswerSourceHost>();
        var serving = AuthCommand.RunAsync(Path.Combine(dir, "store"), settings, AuthCommand.OptionsFor(settings), stop.Token, started: h => started.SetResult(h));
        try
        {
            await started.Task.WaitAsync(TimeSpan.FromSeconds(20));
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (!await NsdHierarchy.AnswersAsync(nsdAddress, DnsName.Parse(DifferentialZones.Parent)))
            {
                if (nsd.HasExited) Assert.Fail($"nsd exited: {await nsd.StandardError.ReadToEndAsync()}");
                Assert.True(DateTime.UtcNow < deadline, "nsd did not answer in time");
                await Task.Delay(100);
            }

            var questions = Questions(new Random(7));
            var nsdServer = new IPEndPoint(nsdAddress, 53);
            var ourServer = new IPEndPoint(oursAddress, 53);
            var differences = new List<string>();
            int compared = 0, tcp = 0;
            var watch = Stopwatch.StartNew();
            foreach (bool overTcp in new[] { false, true })
            {
                // TCP: every name for the common types and every tenth missing name (each a full exchange).
                var asked = overTcp ? questions.Where((q, k) => q.Exists ? q.Type is RRType.A or RRType.NS or RRType.ANY : k % 10 == 0).ToList() : questions;
                var theirs = await DnsExchange.AskAllAsync(nsdServer, asked, overTcp);
                var ours = await DnsExchange.AskAllAsync(ourServer, asked, overTcp);
                var anyChecks = new List<(string Name, RRType Type, bool Exists)>();
                var anyAnswers = new List<DnsMessage>();
                for (int k = 0; k < asked.Count; k++)
                {
                    compared++;
                    if (overTcp) tcp++;
                    var difference = AnswerComparison.Difference(asked[k].Type, theirs[k], ours[k]);
                    if (difference is not null) differences.Add($"{(overTcp ? "tcp" : "udp")} {asked[k].Name} {asked[k].Type}: {difference}");
                    else if (asked[k].Type == RRType.ANY && ours[k]!.Answers.Count > 0)
                    {
                        anyChecks.Add((asked[k].Name, ours[k]!.Answers[^1].Type, true));
                        anyAnswers.Add(ours[k]!);
                    }
                }
                // Our one RRset for ANY must be what NSD answers for that type.
                var nsdForType = await DnsExchange.AskAllAsync(nsdServer, anyChecks, overTcp);
                for (int k = 0; k < anyChecks.Count; k++)
                {
                    var difference = AnswerComparison.AnswerDifference(nsdForType[k], anyAnswers[k]);
                    if (difference is not null) differences.Add($"{(overTcp ? "tcp" : "udp")} {anyChecks[k].Name} ANY (as {anyChecks[k].Type}): {difference}");
                }
            }
            if (Environment.GetEnvironmentVariable("ANANAS_DIFF_OUT") is { Length: > 0 } path) await File.WriteAllLinesAsync(path, differences);
            output.WriteLine($"{compared} questions compared ({tcp} over TCP) in {watch.Elapsed.TotalSeconds:F1} s; {differences.Count} differ");
            Assert.True(differences.Count == 0, string.Join("\n", differences.Take(25)));
        }
        finally
        {
            await stop.CancelAsync();
            await serving.WaitAsync(TimeSpan.FromSeconds(10));
            await NsdHierarchy.StopAsync(nsd, dir);
        }
    }

    /// <summary>Every generated name for every type, then missing names under every kind of closest encloser.</summary>
    private static List<(string Name, RRType Type, bool Exists)> Questions(Random random)
    {
        var questions = new List<(string, RRType, bool)>();
        for (int i = 0; i < ZoneCount; i++)
        {
            // Every type in the first zones (the zones differ only in names and data), the common ones in the rest.
            var types = i < EveryTypeZones ? DifferentialZones.Types : CommonTypes;
            foreach (var name in DifferentialZones.Names(i))
            {
                foreach (var type in types) questions.Add((name, type, true));
                questions.Add((name, RRType.ANY, true));
            }
        }
        foreach (var name in new[] { DifferentialZones.Parent, "ns1.diff.", "z1.diff.", "www.z1.diff.", "plain.diff.", "a.wild.diff.", "nothere.diff." })
            foreach (var type in DifferentialZones.Types) questions.Add((name, type, true));
        string[] under = ["", "host1.", "wild.", "ent.", "b.ent.", "c.b.ent.", "sub.", "dn.", "out.", "x.host2.", "_tcp.", "wcname."];
        for (int k = 0; k < Nonexistent; k++)
        {
            string label = $"n{random.Next():x}";
            string name = $"{label}.{under[k % under.Length]}{DifferentialZones.ZoneName(random.Next(ZoneCount))}";
            var type = k % 3 == 0 ? DifferentialZones.Types[random.Next(DifferentialZones.Types.Length)] : RRType.A;
            questions.Add((name, type, false));
        }
        // Outside every zone: both refuse.
        questions.Add(("www.example.com.", RRType.A, false));
        return questions;
    }
}
