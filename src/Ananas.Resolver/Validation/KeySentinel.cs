using Ananas.Dns;
using Ananas.Resolver.Dnssec;

namespace Ananas.Resolver.Validation;

/// <summary>
/// The root key trust anchor sentinel (RFC 8509): a client learns which root KSKs its resolver trusts by asking for
/// <c>root-key-sentinel-is-ta-NNNNN.example.</c> and <c>root-key-sentinel-not-ta-NNNNN.example.</c>. For a secure
/// A or AAAA answer to a query without CD (the caller checks those), an "is-ta" name whose key tag is not a root trust anchor, or a "not-ta" name whose key tag is one, is
/// answered SERVFAIL (§3.2); everything else is answered as usual.
/// </summary>
public static class KeySentinel
{
    private const string IsTa = "root-key-sentinel-is-ta-";
    private const string NotTa = "root-key-sentinel-not-ta-";

    /// <summary>The SERVFAIL reason when <paramref name="name"/> is a sentinel query that must fail, else null.</summary>
    public static string? Failure(DnsName name, TrustAnchors anchors)
    {
        if (name.LabelCount == 0) return null;
        var label = name.GetLabel(0);
        bool isTa;
        ReadOnlySpan<byte> digits;
        if (StartsWith(label, IsTa))
        {
            isTa = true;
            digits = label[IsTa.Length..];
        }
        else if (StartsWith(label, NotTa))
        {
            isTa = false;
            digits = label[NotTa.Length..];
        }
        else return null;
        // Exactly five decimal digits (§2); anything else is an ordinary name.
        if (digits.Length != 5) return null;
        int tag = 0;
        foreach (byte d in digits)
        {
            if (d is < (byte)'0' or > (byte)'9') return null;
            tag = tag * 10 + (d - '0');
        }
        if (tag > ushort.MaxValue) return null;
        bool trusted = IsRootAnchor((ushort)tag, anchors);
        if (isTa && !trusted) return $"root key sentinel: key {tag:D5} is not a trust anchor here (RFC 8509)";
        if (!isTa && trusted) return $"root key sentinel: key {tag:D5} is a trust anchor here (RFC 8509)";
        return null;
    }

    private static bool IsRootAnchor(ushort tag, TrustAnchors anchors)
    {
        if (anchors.Get(DnsName.Root) is not { } root) return false;
        foreach (var ds in root.DsRecords) if (ds.KeyTag == tag) return true;
        foreach (var key in root.Keys) if (key.KeyTag == tag) return true;
        return false;
    }

    private static bool StartsWith(ReadOnlySpan<byte> label, string prefix)
    {
        if (label.Length < prefix.Length) return false;
        for (int i = 0; i < prefix.Length; i++)
        {
            byte c = label[i];
            if (c is >= (byte)'A' and <= (byte)'Z') c = (byte)(c + 32);
            if (c != prefix[i]) return false;
        }
        return true;
    }
}
