using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>A fact that reports skipped (not passed) when NSD is not installed.</summary>
public sealed class FactWhenNsdInstalledAttribute : FactAttribute
{
    public FactWhenNsdInstalledAttribute()
    {
        if (NsdHierarchy.FindNsd() is null) Skip = "nsd is not installed: run scripts/setup.sh (it installs the Debian package nsd)";
    }
}
