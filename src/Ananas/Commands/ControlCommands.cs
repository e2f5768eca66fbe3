using System.CommandLine;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas cache purge NAME [TYPE] [--subtree]</c>, <c>ananas cache stats</c>, <c>ananas status</c>, <c>ananas reload</c>: clients of a
/// running server's control API (<c>control.listen</c>, default http://127.0.0.1:9154). They print its JSON.
/// </summary>
internal static class ControlCommands
{
    public const string DefaultControl = "http://127.0.0.1:9154";

    private static Option<string> ControlOption() => new("--control") { Description = $"The server's control API (default {DefaultControl}).", DefaultValueFactory = _ => DefaultControl };

    public static Command Cache()
    {
        var name = new Argument<string>("name") { Description = "The name to purge." };
        var type = new Argument<string?>("type") { Description = "Only this type (e.g. A, AAAA).", Arity = ArgumentArity.ZeroOrOne };
        var subtree = new Option<bool>("--subtree") { Description = "Purge the name and everything below it." };
        var control = ControlOption();
        var purge = new Command("purge", "Remove a name (optionally one type, or a whole subtree) from a running server's caches.");
        purge.Arguments.Add(name);
        purge.Arguments.Add(type);
        purge.Options.Add(subtree);
        purge.Options.Add(control);
        purge.SetAction((parse, ct) =>
        {
            var query = $"name={Uri.EscapeDataString(parse.GetValue(name)!)}";
            if (parse.GetValue(type) is { Length: > 0 } t) query += $"&type={Uri.EscapeDataString(t)}";
            if (parse.GetValue(subtree)) query += "&subtree=1";
            return CallAsync(HttpMethod.Post, parse.GetValue(control)!, $"/cache/purge?{query}", Console.Out, Console.Error, ct);
        });

        var statsControl = ControlOption();
        var stats = new Command("stats", "Print a running server's cache statistics (answer cache and record cache).");
        stats.Options.Add(statsControl);
        stats.SetAction((parse, ct) => CallAsync(HttpMethod.Get, parse.GetValue(statsControl)!, "/cache/stats", Console.Out, Console.Error, ct));

        var cache = new Command("cache", "Inspect or purge a running server's cache (through its control API).");
        cache.Subcommands.Add(purge);
        cache.Subcommands.Add(stats);
        return cache;
    }

    public static Command Status()
    {
        var control = ControlOption();
        var status = new Command("status", "Print a running server's status: uptime, listeners, queries in flight, counters.");
        status.Options.Add(control);
        status.SetAction((parse, ct) => CallAsync(HttpMethod.Get, parse.GetValue(control)!, "/status", Console.Out, Console.Error, ct));
        return status;
    }

    public static Command Reload()
    {
        var control = ControlOption();
        var reload = new Command("reload", "Make a running server read its configuration again (as SIGHUP does); prints what was applied and what needs a restart. Exit 1 if the new configuration was rejected.");
        reload.Options.Add(control);
        reload.SetAction((parse, ct) => CallAsync(HttpMethod.Post, parse.GetValue(control)!, "/reload", Console.Out, Console.Error, ct));
        return reload;
    }

    /// <summary>One request; prints the JSON body. 0 on success, 1 on an error reply or an unreachable server.</summary>
    internal static async Task<int> CallAsync(HttpMethod method, string control, string pathAndQuery, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await client.SendAsync(new HttpRequestMessage(method, control.TrimEnd('/') + pathAndQuery), cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                await error.WriteLineAsync($"ananas: the server answered {(int)response.StatusCode}: {body}");
                return 1;
            }
            await output.WriteLineAsync(body);
            return 0;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or UriFormatException)
        {
            await error.WriteLineAsync($"ananas: cannot reach the control API at {control}: {e.Message} (is `ananas serve` running with control.listen set?)");
            return 1;
        }
    }
}
