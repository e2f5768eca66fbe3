namespace Ananas.Dns.Messages;

/// <summary>The one-bit header flags, at their positions in the 16-bit flags word (RFC 1035 §4.1.1, RFC 4035).</summary>
[Flags]
public enum HeaderFlags : ushort
{
    None = 0,
    QR = 0x8000,
    AA = 0x0400,
    TC = 0x0200,
    RD = 0x0100,
    RA = 0x0080,
    Z = 0x0040,
    AD = 0x0020,
    CD = 0x0010,
}
