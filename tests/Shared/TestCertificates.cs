using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Ananas.Tests.Shared;

/// <summary>Self-signed server certificates for one DNS name, for the tests of DoT upstreams and their name checks.</summary>
internal static class TestCertificates
{
    /// <summary>A certificate for <paramref name="name"/> with its private key, valid for an hour.</summary>
    public static X509Certificate2 ForName(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Create(name, key);
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    /// <summary>The same as <see cref="ForName"/>, as one PEM text: the certificate, then its PKCS#8 key.</summary>
    public static string PemForName(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = Create(name, key);
        return certificate.ExportCertificatePem() + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n";
    }

    private static X509Certificate2 Create(string name, ECDsa key)
    {
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
    }
}
