using System.CommandLine;
using System.Diagnostics;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas resolve NAME [TYPE]</c>: one recursive resolution over the real network, printed dig-style. It reads
/// the same configuration as <c>serve</c> (the defaults, or <c>--config</c>), so it validates, forwards and
/// bounds the same way; flags change a few keys for one run.
/// </summary>
internal static class ResolveCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("name") { Description = "The domain name to resolve." };
        var type = new Argument<string>("type") { Description = "The record type (default A).", DefaultValueFactory = _ => "A" };
        var config = new Option<FileInfo?>("--config") { Description = "A TOML configuration file, as for `ananas serve` (the resolver, DNSSEC and forward keys apply)." };
        var trace = new Option<bool>("--trace") { Description = "Print every upstream exchange (server, question, rcode, time)." };
        var rootHints = new Option<FileInfo?>("--root-hints") { Description = "Read root hints from a named.root-style file (root-hints)." };
        var trustAnchor = new Option<FileInfo?>("--trust-anchor") { Description = "DNSSEC trust anchors (DS or DNSKEY records) instead of the built-in root KSKs (dnssec.trust-anchor)." };
        var server = new Option<string?>("--server") { Description = "Forward everything to ADDR[:PORT] instead of iterating (a [[forward]] zone for \".\")." };
        var noQmin = new Option<bool>("--no-qmin") { Description = "Turn QNAME minimisation off." };
        var allowLoopback = new Option<bool>("--allow-loopback") { Description = "Allow querying loopback addresses learnt from referrals (labs; resolver.query-localhost)." };
        var ipv6 = new Option<bool>("--ipv6") { Description = "Also query name servers over IPv6." };
        var noValidate = new Option<bool>("--no-validate") { Description = "Do not validate DNSSEC (dnssec.validation = \"off\"); validation is on by default, as in `serve`." };
        var dnssec = new Option<bool>("--dnssec") { Description = "Set the DO bit in the client query (DNSSEC records in the answer)." };
        var tls = new Option<bool>("--tls") { Description = "Forward to --server over DNS-over-TLS (port 853 by default)." };
        var tlsName = new Option<string?>("--tls-name") { Description = "The name the --server's TLS certificate must carry (default: the address)." };

        var command = new Command("resolve", "Resolve a name recursively, from the root servers, validating, and print the answer dig-style.");
        command.Arguments.Add(name);
        command.Arguments.Add(type);
        foreach (var option in new Option[] { config, trace, rootHints, trustAnchor, server, noQmin, allowLoopback, ipv6, noValidate, dnssec, tls, tlsName }) command.Options.Add(option);

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!DnsName.TryParse(parse.GetValue(name)!, DnsName.Root, out var qname, out var nameError))
                return Fail($"bad name: {nameError}");
            if (!RRTypeText.TryParse(parse.GetValue(type)!, out var qtype))
                return Fail($"unknown record type '{parse.GetValue(type)}'");
            if (parse.GetValue(tls) && parse.GetValue(server) is null) return Fail("--tls needs --server");
            ServerConfig settings;
            try
            {
                settings = BuildConfig(parse.GetValue(config)?.FullName, parse.GetValue(rootHints)?.FullName, parse.GetValue(trustAnchor)?.FullName,
                    parse.GetValue(server), parse.GetValue(tls), parse.GetValue(tlsName), !parse.GetValue(noQmin), parse.GetValue(allowLoopback),
                    parse.GetValue(ipv6), !parse.GetValue(noValidate));
            }
            catch (ConfigException e)
            {
                return Fail(e.Message);
            }
            Action<UpstreamExchange>? tracer = parse.GetValue(trace) ? exchange => Console.WriteLine($";; {exchange}") : null;
            var started = Stopwatch.GetTimestamp();
            Response response;
            try
            {
                response = await ResolveAsync(settings, qname, qtype, parse.GetValue(dnssec), tracer, cancellationToken);
            }
            catch (ConfigException e)
            {
                return Fail(e.Message);
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            Console.WriteLine(response.Message.ToString());
            Console.WriteLine($";; Query time: {elapsed.TotalMilliseconds:0} msec, {response.UpstreamQueries} upstream queries");
            return response.Message.Rcode == Rcode.ServFail ? 2 : 0;
        });
        return command;
    }

    /// <summary>The defaults (or the file), then the flags. Throws <see cref="ConfigException"/> naming the bad flag or key.</summary>
    internal static ServerConfig BuildConfig(string? configPath, string? rootHints, string? trustAnchor, string? server, bool tls, string? tlsName,
        bool qnameMinimisation, bool allowLoopback, bool ipv6, bool validate)
    {
        var settings = configPath is null ? ConfigLoader.Defaults() : ConfigLoader.LoadFile(configPath);
        if (rootHints is not null) settings.RootHints = rootHints;
        if (trustAnchor is not null) settings.TrustAnchorFile = trustAnchor;
        if (!qnameMinimisation) settings.QnameMinimisation = false;
        if (allowLoopback) settings.QueryLocalhost = true;
        if (ipv6) settings.IPv6 = true;
        if (!validate) settings.DnssecValidation = false;
        if (server is not null)
        {
            string text = tls ? $"tls://{server}{(tlsName is null ? "" : "#" + tlsName)}" : server;
            try
            {
                ZoneRouteConfig.ParseServer(text);
            }
            catch (FormatException e)
            {
                throw new ConfigException($"--server: {e.Message}");
            }
            settings.Forwards = [new ZoneRouteConfig(".", [text], First: false)];
        }
        return settings;
    }

    /// <summary>One resolution with the recursor and conductor <paramref name="settings"/> describe, built by the builder <c>serve</c> uses.</summary>
    internal static async Task<Response> ResolveAsync(ServerConfig settings, DnsName qname, RRType qtype, bool dnssecOk, Action<UpstreamExchange>? trace,
        CancellationToken cancellationToken)
    {
        using var upstream = Upstream.FromConfig(settings);
        var recursor = ResolverStackBuilder.Build(settings, SystemClock.Instance, upstream, trace).Recursor;
        var query = DnsMessage.CreateQuery((ushort)SecureRandom.Instance.Next(0x10000), qname, qtype, dnssecOk: dnssecOk);
        return await recursor.ResolveAsync(new Request(query), upstream.Exchanger, cancellationToken);
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"ananas resolve: {message}");
        return 1;
    }
}
