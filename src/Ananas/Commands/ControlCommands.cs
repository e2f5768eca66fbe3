using System.CommandLine;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas cache purge NAME [TYPE] [--subtree]</c>, <c>ananas cache stats</c>, <c>ananas status</c>,
/// <c>ananas reload</c>, <c>ananas cluster status</c>, <c>ananas plugin list</c>, <c>ananas plugin reload NAME</c>: clients of a
/// running server's control API (<c>control.listen</c>, default http://127.0.0.1:9154), authenticated with the token
/// the server wrote into <c>control.token-file</c> (the same default path on both sides). They print its JSON.
/// </summary>
internal static class ControlCommands
{
    public const string DefaultControl = "http://127.0.0.1:9154";

    private static Option<string> ControlOption() => new("--control") { Description = $"The server's control API (default {DefaultControl}).", DefaultValueFactory = _ => DefaultControl };

    private static Option<string> TokenFileOption() => new("--token-file")
    {
        Description = "The file with the control API's token (the server's control.token-file; default $ANANAS_STATE_DIR, $XDG_STATE_HOME/ananas or ~/.local/state/ananas, file control.token).",
        DefaultValueFactory = _ => Server.Listeners.ControlToken.DefaultPath(),
    };

    /// <summary>A command calling the API: its --control and --token-file options, and the call they make.</summary>
    private static void Calls(Command command, HttpMethod method, Func<ParseResult, string> pathAndQuery)
    {
        var control = ControlOption();
        var tokenFile = TokenFileOption();
        command.Options.Add(control);
        command.Options.Add(tokenFile);
        command.SetAction((parse, ct) => CallAsync(method, parse.GetValue(control)!, parse.GetValue(tokenFile)!, pathAndQuery(parse), Console.Out, Console.Error, ct));
    }

    public static Command Cache()
    {
        var name = new Argument<string>("name") { Description = "The name to purge." };
        var type = new Argument<string?>("type") { Description = "Only this type (e.g. A, AAAA).", Arity = ArgumentArity.ZeroOrOne };
        var subtree = new Option<bool>("--subtree") { Description = "Purge the name and everything below it." };
        var purge = new Command("purge", "Remove a name (optionally one type, or a whole subtree) from a running server's caches.");
        purge.Arguments.Add(name);
        purge.Arguments.Add(type);
        purge.Options.Add(subtree);
        Calls(purge, HttpMethod.Post, parse =>
        {
            var query = $"name={Uri.EscapeDataString(parse.GetValue(name)!)}";
            if (parse.GetValue(type) is { Length: > 0 } t) query += $"&type={Uri.EscapeDataString(t)}";
            if (parse.GetValue(subtree)) query += "&subtree=1";
            return $"/cache/purge?{query}";
        });

        var stats = new Command("stats", "Print a running server's cache statistics (answer cache and record cache).");
        Calls(stats, HttpMethod.Get, _ => "/cache/stats");

        var cache = new Command("cache", "Inspect or purge a running server's cache (through its control API).");
        cache.Subcommands.Add(purge);
        cache.Subcommands.Add(stats);
        return cache;
    }

    public static Command Status()
    {
        var status = new Command("status", "Print a running server's status: uptime, listeners, queries in flight, counters.");
        Calls(status, HttpMethod.Get, _ => "/status");
        return status;
    }

    public static Command Cluster()
    {
        var status = new Command("status", "Print a running server's cache-sharing cluster: this node, the ring (healthy members), each peer's state, in-flight questions and ping RTT, and the forwarding counters.");
        Calls(status, HttpMethod.Get, _ => "/cluster");
        var cluster = new Command("cluster", "Inspect a running server's cache-sharing cluster (through its control API).");
        cluster.Subcommands.Add(status);
        return cluster;
    }

    public static Command Reload()
    {
        var reload = new Command("reload", "Make a running server read its configuration again (as SIGHUP does); prints what was applied and what needs a restart. Exit 1 if the new configuration was rejected.");
        Calls(reload, HttpMethod.Post, _ => "/reload");
        return reload;
    }

    public static Command Plugin()
    {
        var list = new Command("list", "List a running server's plugins: version, module hash, instances, calls, faults, quarantine, time, counters.");
        Calls(list, HttpMethod.Get, _ => "/plugins");

        var name = new Argument<string>("name") { Description = "The plugin's name in the configuration." };
        var reload = new Command("reload", "Load a plugin's module again from its configured path and swap it in without losing queries.");
        reload.Arguments.Add(name);
        Calls(reload, HttpMethod.Post, parse => $"/plugins/reload?name={Uri.EscapeDataString(parse.GetValue(name)!)}");

        var plugin = new Command("plugin", "Inspect or reload a running server's WebAssembly plugins (through its control API).");
        plugin.Subcommands.Add(list);
        plugin.Subcommands.Add(reload);
        return plugin;
    }

    /// <summary>One request; prints the JSON body. 0 on success, 1 on an error reply or an unreachable server.</summary>
    internal static async Task<int> CallAsync(HttpMethod method, string control, string tokenFile, string pathAndQuery, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (Server.Listeners.ControlToken.Read(tokenFile, out var why) is not { } token)
        {
            await error.WriteLineAsync($"ananas: {why} (the server writes it at its first start with control.listen set; give the path of its control.token-file with --token-file)");
            return 1;
        }
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var request = new HttpRequestMessage(method, control.TrimEnd('/') + pathAndQuery);
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                string hint = response.StatusCode == System.Net.HttpStatusCode.Unauthorized ? $" (the token in '{tokenFile}' was not accepted: is it this server's control.token-file?)" : "";
                await error.WriteLineAsync($"ananas: the server answered {(int)response.StatusCode}{hint}: {body}");
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
