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

    /// <summary>Two tools (e.g. the browser and the load generator); skipped naming the first one missing.</summary>
    public FactWhenInstalledAttribute(string tool, string debianPackage, string tool2, string debianPackage2) : this(tool, debianPackage)
    {
        if (Skip is null && EncryptedTransportTests.Tool(tool2) is null) Skip = $"{tool2} is not installed: run scripts/setup.sh (it installs the Debian package {debianPackage2})";
    }
}

/// <summary>The theory form of <see cref="FactWhenInstalledAttribute"/>: skipped, saying how to install it, when the tool is missing.</summary>
public sealed class TheoryWhenInstalledAttribute : TheoryAttribute
{
    public TheoryWhenInstalledAttribute(string tool, string debianPackage)
    {
        if (EncryptedTransportTests.Tool(tool) is null) Skip = $"{tool} is not installed: run scripts/setup.sh (it installs the Debian package {debianPackage})";
    }
}
