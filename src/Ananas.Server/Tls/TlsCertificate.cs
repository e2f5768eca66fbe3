using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Ananas.Server.Configuration;

namespace Ananas.Server.Tls;

/// <summary>
/// The server certificate for DoT and DoH: loaded from PEM files (<c>tls.certificate</c>, <c>tls.key</c>), or,
/// with none configured, a self-signed one generated at startup for the listen addresses (clients must not
/// trust it; it only makes the encrypted transports testable out of the box).
/// </summary>
public static class TlsCertificate
{
    /// <summary>ALPN for DNS over TLS (RFC 7858 §3.2, IANA "dot").</summary>
    public static readonly SslApplicationProtocol Dot = new("dot");

    /// <summary>Loads the configured PEM pair; throws <see cref="ConfigException"/> naming the file on failure.</summary>
    public static X509Certificate2 Load(string certificatePath, string keyPath)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificatePath, keyPath.Length == 0 ? null : keyPath);
            // A PEM key is ephemeral; SslStream wants a certificate whose key it can use on every platform.
            return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new ConfigException($"tls: cannot load the certificate '{certificatePath}' with the key '{keyPath}': {e.Message}");
        }
    }

    /// <summary>A self-signed ECDSA P-256 certificate valid for <paramref name="addresses"/> and "localhost", for 30 days.</summary>
    public static X509Certificate2 SelfSigned(IEnumerable<IPAddress> addresses)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=ananas self-signed", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        foreach (var address in addresses.Distinct()) names.AddIpAddress(address);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Server options for a DoT connection: TLS 1.2 or 1.3, ALPN "dot", no client certificate.</summary>
    public static SslServerAuthenticationOptions DotOptions(X509Certificate2 certificate) => new()
    {
        ServerCertificateContext = SslStreamCertificateContext.Create(certificate, null, offline: true),
        ApplicationProtocols = [Dot],
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
        ClientCertificateRequired = false,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
    };
}
