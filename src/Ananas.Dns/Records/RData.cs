using System.Buffers;
using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Records;

/// <summary>
/// Typed RDATA of one resource record. Subclasses are immutable. Two RDATAs are equal when their
/// canonical wire forms (RFC 4034 §6.2) are equal, which is the comparison DNSSEC and RRset
/// de-duplication need.
/// </summary>
public abstract class RData : IEquatable<RData>
{
    public abstract RRType Type { get; }

    /// <summary>Writes the RDATA (without RDLENGTH). Names follow the writer's mode.</summary>
    public abstract void WriteTo(ref WireWriter writer);

    /// <summary>Appends the presentation form of the RDATA (RFC 1035 §5.1 and each type's RFC).</summary>
    public abstract void AppendPresentation(StringBuilder sb);

    public override string ToString()
    {
        var sb = new StringBuilder();
        AppendPresentation(sb);
        return sb.ToString();
    }

    /// <summary>The uncompressed wire form, names in their original case.</summary>
    public byte[] ToWire() => Serialize(NameWriteMode.Uncompressed);

    /// <summary>Appends the RFC 3597 §5 generic form <c>\# length hex</c>, which any type may use.</summary>
    public void AppendGeneric(StringBuilder sb)
    {
        var wire = ToWire();
        sb.Append("\\# ").Append(wire.Length);
        if (wire.Length > 0) sb.Append(' ').Append(Convert.ToHexString(wire));
    }

    /// <summary>The canonical wire form (uncompressed, names lowercased where the type requires).</summary>
    public byte[] ToCanonicalWire() => Serialize(NameWriteMode.Canonical);

    private byte[] Serialize(NameWriteMode mode)
    {
        byte[] rented = ArrayPool<byte>.Shared.Rent(65535);
        try
        {
            var writer = new WireWriter(rented, mode);
            WriteTo(ref writer);
            return writer.Written.ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    // Scratch for the canonical forms compared or hashed: no copy is kept on the record, so a cached record does
    // not hold its RDATA twice (once in its fields, once in wire form).
    [ThreadStatic] private static byte[]? t_first;
    [ThreadStatic] private static byte[]? t_second;

    private static ReadOnlySpan<byte> WriteCanonical(RData data, byte[] buffer)
    {
        var writer = new WireWriter(buffer, NameWriteMode.Canonical);
        data.WriteTo(ref writer);
        return buffer.AsSpan(0, writer.Position);
    }

    private static byte[] First => t_first ??= new byte[ushort.MaxValue];

    private static byte[] Second => t_second ??= new byte[ushort.MaxValue];

    /// <summary>Length of the canonical wire form (that of the uncompressed form: lowercasing keeps lengths).</summary>
    internal int CanonicalLength => WriteCanonical(this, First).Length;

    public bool Equals(RData? other) =>
        other is not null && (ReferenceEquals(this, other) ||
                              (Type == other.Type && WriteCanonical(this, First).SequenceEqual(WriteCanonical(other, Second))));

    public override bool Equals(object? obj) => obj is RData other && Equals(other);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Type);
        h.AddBytes(WriteCanonical(this, First));
        return h.ToHashCode();
    }

    /// <summary>Canonical RDATA ordering within an RRset (RFC 4034 §6.3): octet-wise on the canonical form.</summary>
    public static int CompareCanonical(RData a, RData b) => WriteCanonical(a, First).SequenceCompareTo(WriteCanonical(b, Second));

    /// <summary>Reads <paramref name="length"/> octets of RDATA of <paramref name="type"/> at the reader's position.</summary>
    public static RData Read(RRType type, ref WireReader reader, int length)
    {
        if (reader.Remaining < length) throw new DnsFormatException($"RDATA of {length} octets runs past the end of the message");
        int savedEnd = reader.End;
        int end = reader.Position + length;
        reader.End = end;
        int start = reader.Position;
        RData data;
        try
        {
            data = RDataCodec.Read(type, ref reader, length);
            if (reader.Position != end)
                throw new DnsFormatException($"{type} RDATA has {end - reader.Position} unexpected trailing octets");
        }
        catch (DnsFormatException) when (type is RRType.SVCB or RRType.HTTPS)
        {
            // SVCB and HTTPS that break RFC 9460's rules (keys out of order, a short parameter) are still the
            // zone's data, signed as sent: kept opaque (RFC 3597 §7: canonical as is) rather than failing the message.
            reader.Position = start;
            data = UnknownData.ReadFrom(type, ref reader, length);
        }
        reader.End = savedEnd;
        return data;
    }
}
