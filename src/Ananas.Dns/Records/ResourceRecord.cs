using System.Text;

namespace Ananas.Dns.Records;

/// <summary>
/// One resource record: owner, class, TTL and typed RDATA (whose <see cref="RData.Type"/> is the record type).
/// Value equality compares everything including the TTL; <see cref="SameData"/> ignores the TTL.
/// </summary>
public sealed record ResourceRecord(DnsName Name, RRClass Class, uint Ttl, RData Data)
{
    public ResourceRecord(DnsName name, uint ttl, RData data) : this(name, RRClass.IN, ttl, data) { }

    public RRType Type => Data.Type;

    /// <summary>Same owner (ignoring case), type, class and RDATA; TTL ignored.</summary>
    public bool SameData(ResourceRecord other) =>
        Name.Equals(other.Name) && Class == other.Class && Data.Equals(other.Data);

    public ResourceRecord WithTtl(uint ttl) => ttl == Ttl ? this : this with { Ttl = ttl };

    /// <summary>Zone-file style: <c>owner TTL CLASS TYPE RDATA</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Name.AppendTo(sb);
        sb.Append('\t').Append(Ttl).Append('\t').Append(RRClassText.ToText(Class)).Append('\t')
          .Append(RRTypeText.ToText(Type)).Append('\t');
        Data.AppendPresentation(sb);
        return sb.ToString();
    }
}
