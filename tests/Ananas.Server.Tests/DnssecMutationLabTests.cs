using System.Diagnostics;

namespace Ananas.Server.Tests;

/// <summary>
/// The quick subset of the DNSSEC mutation lab (bench/lab/dnssec-mutations --quick): broken and tricky signed zones
/// served by NSD, asked of Unbound, Knot Resolver and this build's `ananas serve`. Fails when Ananas differs from a
/// verdict both peers agree on, or sets AD where either peer does not (differences listed in
/// bench/lab/dnssec-mutations.known, each with the RFC that decides it in docs/DNSSEC.md, are allowed).
/// </summary>
[Trait("Category", "EndToEnd")]
[Collection("Loopback sockets")]
public sealed class DnssecMutationLabTests
{
    [FactWhenPeerValidatorsInstalled]
    public async Task Ananas_agrees_with_Unbound_and_Knot_Resolver_on_the_quick_mutation_lab()
    {
        var repo = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(repo, "bench", "lab", "mutations.py"))) repo = Path.GetDirectoryName(repo)!;
        var cli = Path.Combine(AppContext.BaseDirectory, "ananas.dll");
        var work = Path.Combine(Path.GetTempPath(), $"ananas-mutations-{Guid.NewGuid():N}");
        var start = new ProcessStartInfo("python3")
        {
            ArgumentList = { Path.Combine(repo, "bench", "lab", "mutations.py"), "--quick", "--ananas", $"dotnet {cli}", "--out", work },
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(150));
        }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var text = await output + await error;
        var report = Path.Combine(work, "report.txt");
        var differences = File.Exists(report) ? await File.ReadAllTextAsync(report) : "";
        Directory.Delete(work, recursive: true);
        Assert.True(process.ExitCode == 0, $"{text}\n{differences}");
        // The subset covers every class: at least 100 cases.
        var summary = text.Split('\n').First(l => l.Contains(" cases, ") && l.Contains(" queries in "));
        Assert.True(int.Parse(summary.Split(' ')[0]) >= 100, summary);
    }
}

/// <summary>Skipped unless NSD, ldns-signzone, Unbound and kresd are installed and the lab may bind port 53 (root).</summary>
public sealed class FactWhenPeerValidatorsInstalledAttribute : FactAttribute
{
    public FactWhenPeerValidatorsInstalledAttribute()
    {
        string[] tools = ["nsd", "ldns-signzone", "ldns-keygen", "unbound", "kresd", "dig"];
        var missing = tools.Where(t => !new[] { "/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/local/bin/" }.Any(d => File.Exists(d + t))).ToList();
        if (missing.Count > 0) Skip = $"{string.Join(", ", missing)} not installed: run scripts/setup.sh (Debian nsd ldnsutils unbound knot-resolver dnsutils)";
        else if (Environment.UserName != "root") Skip = "the mutation lab serves its zones on port 53 of 127.x addresses, which needs root";
    }
}
