using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>SSHFP RDATA (RFC 4255 §3): an SSH host key fingerprint.</summary>
public sealed class SshfpData(byte algorithm, byte fingerprintType, byte[] fingerprint) : RData
{
    public override RRType Type => RRType.SSHFP;

    /// <summary>1 RSA, 2 DSA, 3 ECDSA, 4 Ed25519, 6 Ed448.</summary>
    public byte Algorithm { get; } = algorithm;

    /// <summary>1 SHA-1, 2 SHA-256.</summary>
    public byte FingerprintType { get; } = fingerprintType;

    public ReadOnlyMemory<byte> Fingerprint { get; } = fingerprint;

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteByte(Algorithm);
        writer.WriteByte(FingerprintType);
        writer.WriteBytes(Fingerprint.Span);
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        if (Fingerprint.IsEmpty) { AppendGeneric(sb); return; }
        sb.Append(Algorithm).Append(' ').Append(FingerprintType).Append(' ').Append(Convert.ToHexString(Fingerprint.Span));
    }

    internal static SshfpData ReadFrom(ref WireReader reader) =>
        new(reader.ReadByte(), reader.ReadByte(), reader.ReadToEnd().ToArray());

    internal static SshfpData Parse(RDataTextReader reader) =>
        new(reader.ReadUInt8("an SSHFP algorithm"), reader.ReadUInt8("a fingerprint type"), reader.ReadHexRest("a fingerprint"));
}
