using Ananas.Tests.Lab;

namespace Ananas.Authoritative.Tests;

/// <summary>A fact that reports skipped (not passed) when nats-server is not installed.</summary>
public sealed class FactWhenNatsInstalledAttribute : FactAttribute
{
    public FactWhenNatsInstalledAttribute()
    {
        if (NatsServer.Find() is null) Skip = "nats-server is not installed: run scripts/setup.sh (it installs the Debian package nats-server)";
    }
}
