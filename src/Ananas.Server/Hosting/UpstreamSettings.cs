using Ananas.Resolver.Cache;
using Ananas.Resolver.Conductor;
using Ananas.Server.Configuration;

namespace Ananas.Server.Hosting;

/// <summary>
/// The conductor's and infrastructure cache's settings that come from the configuration file.
/// <c>resolver.upstream-timeout</c> is the longest wait for one upstream reply: it caps the adaptive UDP
/// retransmission timeout (a server's RTO grows on every timeout, up to this) and bounds one TCP or TLS exchange,
/// connect included. The per-request deadline (<c>resolver.query-timeout</c>) bounds the whole resolution.
/// </summary>
public static class UpstreamSettings
{
    public static InfrastructureCacheOptions Infrastructure(ServerConfig config)
    {
        var defaults = new InfrastructureCacheOptions();
        var cap = config.UpstreamTimeout;
        return defaults with
        {
            MaxRto = cap,
            InitialRto = defaults.InitialRto < cap ? defaults.InitialRto : cap,
            MinRto = defaults.MinRto < cap ? defaults.MinRto : cap,
        };
    }

    public static ConductorOptions Conductor(ServerConfig config) => new()
    {
        StreamTimeout = config.UpstreamTimeout,
        UseCaseRandomisation = config.QnameCaseRandomisation,
        TlsTrustedCertificates = config.TlsCertBundle.Length == 0 ? [] : LoadBundle("resolver.tls-cert-bundle", config.TlsCertBundle),
    };

    /// <summary>The certificates of the PEM file of key <paramref name="key"/>; a file that cannot be read or holds none is a <see cref="ConfigException"/>.</summary>
    public static System.Security.Cryptography.X509Certificates.X509Certificate2Collection LoadBundle(string key, string path)
    {
        var bundle = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new ConfigException($"{key}: cannot read '{path}': {e.Message}");
        }
        if (bundle.Count == 0) throw new ConfigException($"{key}: '{path}' holds no certificate");
        return bundle;
    }
}
