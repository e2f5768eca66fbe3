using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>RDATA of a type this library has no model for, kept as opaque octets (RFC 3597).</summary>
public sealed class UnknownData(RRType type, byte[] bytes) : RData
{
    public override RRType Type { get; } = type;

    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    public override void WriteTo(ref WireWriter writer) => writer.WriteBytes(Bytes.Span);

    /// <summary>The RFC 3597 §5 generic form: <c>\# length hex</c>.</summary>
    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append("\\# ").Append(Bytes.Length);
        if (Bytes.Length > 0) sb.Append(' ').Append(Convert.ToHexString(Bytes.Span));
    }

    internal static UnknownData ReadFrom(RRType type, ref WireReader reader, int length) =>
        new(type, reader.ReadBytes(length).ToArray());
}
