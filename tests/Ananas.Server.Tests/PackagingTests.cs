using System.Text.RegularExpressions;
using Ananas.Sandbox.Tests;

namespace Ananas.Server.Tests;

/// <summary>packaging/: the systemd unit runs the server as the ./ananas launcher does.</summary>
public sealed partial class PackagingTests
{
    [GeneratedRegex("""^export (?<name>[A-Za-z_][A-Za-z0-9_]*)="\$\{\k<name>:-(?<value>[^}]*)\}"$""", RegexOptions.Multiline)]
    private static partial Regex LauncherExport();

    [Fact]
    public void The_systemd_unit_sets_every_runtime_variable_the_launcher_exports()
    {
        string launcher = File.ReadAllText(Path.Combine(Guests.RepositoryRoot, "ananas"));
        string unit = File.ReadAllText(Path.Combine(Guests.RepositoryRoot, "packaging", "ananas.service"));
        var exports = LauncherExport().Matches(launcher);
        Assert.NotEmpty(exports);
        foreach (Match export in exports)
            Assert.Contains($"\nEnvironment={export.Groups["name"].Value}={export.Groups["value"].Value}\n", unit);
        Assert.Contains("\nExecStartPre=/usr/bin/dotnet /opt/ananas/ananas.dll check-config /etc/ananas/ananas.toml\n", unit);
        Assert.Contains("\nExecReload=/bin/kill -HUP $MAINPID\n", unit);
    }
}
