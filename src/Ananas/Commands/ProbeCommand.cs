using System.CommandLine;
using System.Globalization;
using System.Net;
using Ananas.Cli.Probe;
using Ananas.Server.Configuration;
using Ananas.Server.Listeners;
using Microsoft.AspNetCore.Http;

namespace Ananas.Cli;

/// <summary><c>ananas probe</c>: end-to-end propagation of a record change from the zone API to every edge.</summary>
internal static class ProbeCommand
{
    public static Command Create()
    {
        var api = new Option<string>("--api") { Description = "The zone API (http://HOST:PORT).", Required = true };
        var token = new Option<string>("--token") { Description = "An API token for the zone.", Required = true };
        var zone = new Option<string>("--zone") { Description = "The zone whose probe record is changed.", Required = true };
        var edges = new Option<string[]>("--edge") { Description = "An edge to time, repeatable: NAME=ADDR[:PORT] (port 53 by default).", Required = true, AllowMultipleArgumentsPerToken = false };
        var interval = new Option<double>("--interval") { Description = "Seconds between changes (default 1).", DefaultValueFactory = _ => 1.0 };
        var count = new Option<long>("--count") { Description = "Changes to make; 0 runs until stopped.", DefaultValueFactory = _ => 0 };
        var record = new Option<string>("--record") { Description = "The probe record's name in the zone (a TXT record, created when missing).", DefaultValueFactory = _ => "_ananas-probe" };
        var timeout = new Option<double>("--timeout") { Description = "Seconds an edge has to answer the new value before the round counts it as timed out.", DefaultValueFactory = _ => 10.0 };
        var metrics = new Option<string?>("--metrics-listen") { Description = "Serve ananas_propagation_seconds{edge} at http://ADDR:PORT/metrics." };
        var output = new Option<FileInfo?>("--output") { Description = "Also write every measurement as a JSON line {round, unix_ms, edge, seconds, api_seconds} (seconds null: timed out; api_seconds: the API's part)." };
        var command = new Command("probe",
            "Change a TXT record through the zone API on a schedule and time until each edge answers the new value (UDP). " +
            "Prints one line per change; the times are the histogram ananas_propagation_seconds{edge}.");
        foreach (var option in new Option[] { api, token, zone, edges, interval, count, record, timeout, metrics, output }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            List<ProbeEdge> targets;
            IPEndPoint? metricsAt = null;
            Uri apiUri;
            try
            {
                apiUri = new Uri(ServeCommand.Flag("--api", () => ConfigKeys.HttpUrl(parse.GetValue(api)!)));
                targets = [.. parse.GetValue(edges)!.Select(e => ServeCommand.Flag("--edge", () => ParseEdge(e)))];
                if (parse.GetValue(metrics) is { } m) metricsAt = ServeCommand.Flag("--metrics-listen", () => MetricsListener.ParseAddress(m));
                if (parse.GetValue(interval) <= 0 || parse.GetValue(timeout) <= 0) throw new ConfigException("--interval and --timeout must be positive");
            }
            catch (ConfigException e)
            {
                Console.Error.WriteLine($"ananas probe: {e.Message}");
                return 1;
            }
            using var client = new ZoneApiClient(apiUri, parse.GetValue(token)!);
            var probe = new PropagationProbe(client, parse.GetValue(zone)!, parse.GetValue(record)!, targets, TimeSpan.FromSeconds(parse.GetValue(timeout)));
            Microsoft.AspNetCore.Builder.WebApplication? app = null;
            if (metricsAt is not null)
            {
                app = LoopbackHttpEndpoint.Start(metricsAt, "--metrics-listen", async context =>
                {
                    context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await context.Response.WriteAsync(probe.Metrics());
                }, out _);
            }
            await using var log = parse.GetValue(output) is { } file ? new StreamWriter(file.FullName, append: true) : null;
            var gate = new object();
            probe.Measured = result =>
            {
                string seconds = result.Seconds is { } s ? s.ToString("R", CultureInfo.InvariantCulture) : "null";
                lock (gate)
                {
                    Console.WriteLine($"{result.Round} {result.Edge} {(result.Seconds is { } t ? (t * 1000).ToString("F1", CultureInfo.InvariantCulture) + " ms" : "timeout")}");
                    string api = result.ApiSeconds is { } a ? a.ToString("R", CultureInfo.InvariantCulture) : "null";
                    log?.WriteLine($"{{\"round\":{result.Round},\"unix_ms\":{result.UnixMs},\"edge\":\"{result.Edge}\",\"seconds\":{seconds},\"api_seconds\":{api}}}");
                    log?.Flush();
                }
            };
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watching = probe.WatchAsync(stop.Token);
            var period = TimeSpan.FromSeconds(parse.GetValue(interval));
            long rounds = parse.GetValue(count);
            int failures = 0;
            try
            {
                for (long round = 1; rounds == 0 || round <= rounds; round++)
                {
                    var next = DateTime.UtcNow + period;
                    try
                    {
                        await probe.ChangeAsync(round, cancellationToken);
                    }
                    catch (Exception e) when (e is IOException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
                    {
                        // The API is down (a restart): this change was not made; the probe goes on.
                        failures++;
                        Console.Error.WriteLine($"ananas probe: change {round}: {e.Message}");
                    }
                    var wait = next - DateTime.UtcNow;
                    if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
                }
                // The last changes get their time to arrive.
                await Task.Delay(TimeSpan.FromSeconds(parse.GetValue(timeout)), cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
            }
            stop.Cancel();
            await watching;
            if (app is not null) await app.StopAsync();
            return failures == 0 ? 0 : 1;
        });
        return command;
    }

    private static ProbeEdge ParseEdge(string text)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw new FormatException($"'{text}' is not NAME=ADDR[:PORT]");
        string name = text[..eq];
        if (!name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.')) throw new FormatException($"edge name '{name}': letters, digits, '-', '_' and '.'");
        return new ProbeEdge(name, ConfigLoader.ParseEndPoint(text[(eq + 1)..], 53));
    }
}
