using System.CommandLine;
using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas resolve NAME [TYPE]</c>: one recursive resolution over the real network, printed dig-style.
/// </summary>
internal static class ResolveCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The domain name to resolve." };
        var type = new Argument<string>("type") { Description = "The record type (default A).", DefaultValueFactory = _ => "A" };
        var trace = new Option<bool>("--trace") { Description = "Print every upstream exchange (server, question, rcode, time)." };
        var rootHints = new Option<FileInfo?>("--root-hints") { Description = "Read root hints from a named.root-style file." };
        var server = new Option<string?>("--server") { Description = "Forward everything to ADDR[:PORT] instead of iterating." };
        var noQmin = new Option<bool>("--no-qmin") { Description = "Turn QNAME minimisation off." };
        var allowLoopback = new Option<bool>("--allow-loopback") { Description = "Allow querying loopback addresses learnt from referrals (labs)." };
        var ipv6 = new Option<bool>("--ipv6") { Description = "Also query name servers over IPv6." };
        var dnssec = new Option<bool>("--dnssec") { Description = "Set the DO bit in the client query (no validation yet)." };
        var tls = new Option<bool>("--tls") { Description = "Forward to --server over DNS-over-TLS (port 853 by default)." };
        var tlsName = new Option<string?>("--tls-name") { Description = "The name the --server's TLS certificate must carry (default: the address)." };

        var command = new Command("resolve", "Resolve a name recursively, from the root servers, and print the answer dig-style.");
        command.Arguments.Add(name);
        command.Arguments.Add(type);
        foreach (var option in new Option[] { trace, rootHints, server, noQmin, allowLoopback, ipv6, dnssec, tls, tlsName }) command.Options.Add(option);

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!DnsName.TryParse(parse.GetValue(name)!, DnsName.Root, out var qname, out var nameError))
                return Fail($"bad name: {nameError}");
            if (!RRTypeText.TryParse(parse.GetValue(type)!, out var qtype))
                return Fail($"unknown record type '{parse.GetValue(type)}'");

            var recursorOptions = ResolverProfile.Defaults with
            {
                QnameMinimisation = !parse.GetValue(noQmin),
                DoNotQueryLocalhost = !parse.GetValue(allowLoopback),
                UseIPv6 = parse.GetValue(ipv6),
            };
            if (parse.GetValue(rootHints) is { } hintsFile)
            {
                try
                {
                    recursorOptions = recursorOptions with { RootHints = RootHints.Parse(await File.ReadAllTextAsync(hintsFile.FullName, cancellationToken)) };
                }
                catch (Exception e) when (e is IOException or DnsFormatException or UnauthorizedAccessException)
                {
                    return Fail($"cannot read root hints: {e.Message}");
                }
            }
            var conductorOptions = new ConductorOptions();
            bool useTls = parse.GetValue(tls);
            if (parse.GetValue(server) is { } forwarder)
            {
                if (!TryParseServer(forwarder, useTls ? 853 : 53, out var endpoint)) return Fail($"bad server address '{forwarder}'");
                recursorOptions = recursorOptions with { ForwardZones = [new ForwardZone(DnsName.Root, [endpoint])] };
                if (useTls)
                    conductorOptions = conductorOptions with { TlsUpstreams = [new TlsUpstream(endpoint, parse.GetValue(tlsName) ?? endpoint.Address.ToString())] };
            }
            else if (useTls)
            {
                return Fail("--tls needs --server");
            }
            if (parse.GetValue(trace))
                recursorOptions = recursorOptions with { Trace = exchange => Console.WriteLine($";; {exchange}") };

            var infrastructure = new InfrastructureCache(new InfrastructureCacheOptions(), SystemClock.Instance);
            using var conductor = new Conductor(conductorOptions, infrastructure);
            var recursor = ResolverProfile.CreateRecursor(recursorOptions, SystemClock.Instance, conductor.CreateSelector(SecureRandom.Instance));
            var query = DnsMessage.CreateQuery((ushort)SecureRandom.Instance.Next(0x10000), qname, qtype, dnssecOk: parse.GetValue(dnssec));
            var started = Stopwatch.GetTimestamp();
            var response = await recursor.ResolveAsync(new Request(query), conductor, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(started);

            Console.WriteLine(response.Message.ToString());
            Console.WriteLine($";; Query time: {elapsed.TotalMilliseconds:0} msec, {response.UpstreamQueries} upstream queries");
            return response.Message.Rcode == Rcode.ServFail ? 2 : 0;
        });
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ananas resolve: {message}");
        return 1;
    }

    /// <summary>ADDR or ADDR:PORT ([v6]:PORT for IPv6 with a port); <paramref name="defaultPort"/> without one.</summary>
    internal static bool TryParseServer(string text, int defaultPort, out IPEndPoint endpoint)
    {
        if (IPAddress.TryParse(text, out var address))
        {
            endpoint = new IPEndPoint(address, defaultPort);
            return true;
        }
        if (IPEndPoint.TryParse(text, out var parsed) && parsed.Port != 0)
        {
            endpoint = parsed;
            return true;
        }
        endpoint = null!;
        return false;
    }
}
