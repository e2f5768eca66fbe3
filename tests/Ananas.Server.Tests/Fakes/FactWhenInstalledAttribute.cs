namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// A fact that is skipped, with a message saying how to install it, when the command-line tool it drives is
/// missing (xunit 2 decides skips at discovery; scripts/setup.sh installs every tool the tests use).
/// </summary>
public sealed class FactWhenInstalledAttribute : FactAttribute
{
    public FactWhenInstalledAttribute(string tool, string debianPackage)
    {
        if (EncryptedTransportTests.Tool(tool) is null) Skip = $"{tool} is not installed: run scripts/setup.sh (it installs the Debian package {debianPackage})";
    }
}
