using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Microsoft.Extensions.Logging;

namespace Ananas.Sandbox.Tests;

/// <summary>The test guests (guests/tests/*.rs), built by scripts/build-guests.sh (./test runs it; so does this class if needed).</summary>
internal static class Guests
{
    private static readonly Lazy<string> Directory = new(Build);

    public static string RepositoryRoot
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) return dir.FullName;
            }
            throw new InvalidOperationException("repository root (Ananas.slnx) not found above " + AppContext.BaseDirectory);
        }
    }

    private static string Build()
    {
        string root = RepositoryRoot;
        // Incremental: a no-op when every guest is up to date, so running it from tests costs little.
        var psi = new ProcessStartInfo(Path.Combine(root, "scripts", "build-guests.sh")) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(psi)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException("scripts/build-guests.sh failed: " + errors);
        return Path.Combine(root, ".build", "guests", "tests");
    }

    public static string PathOf(string name)
    {
        string path = System.IO.Path.Combine(Directory.Value, name + ".wasm");
        if (!File.Exists(path))
            throw new InvalidOperationException($"test guest {path} is missing: scripts/build-guests.sh needs /usr/bin/rustc and libstd-rust-dev-wasm32 (scripts/setup.sh installs them)");
        return path;
    }

    public static PluginDefinition Definition(string guest, string? name = null, string args = "") =>
        new() { Name = name ?? guest, ModulePath = PathOf(guest), Args = args };
}

internal static class Queries
{
    private static int _nextId = 1;

    /// <summary>A context for a query from 127.0.0.9 (network 127.0.0.0/24) over UDP.</summary>
    public static PluginCallContext Context(string name, RRType type = RRType.TXT, string client = "127.0.0.9", byte prefix = 24)
    {
        var query = DnsMessage.CreateQuery((ushort)Interlocked.Increment(ref _nextId), DnsName.Parse(name), type, dnssecOk: true);
        var context = new PluginCallContext();
        Assert.True(context.TrySetQuery(query.ToArray()));
        context.SetClient(IPAddress.Parse(client), prefix);
        return context;
    }

    /// <summary>The TXT strings of the response's answer records.</summary>
    public static List<string> TxtStrings(PluginCallContext context) =>
        context.Response is null ? [] : context.Response.Answers.Where(r => r.Type == RRType.TXT).Select(r => r.ToString()).ToList();
}
