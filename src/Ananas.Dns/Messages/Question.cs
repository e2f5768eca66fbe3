namespace Ananas.Dns.Messages;

/// <summary>One entry of the question section. Equality ignores the name's letter case.</summary>
public sealed record Question(DnsName Name, RRType Type, RRClass Class = RRClass.IN)
{
    public override string ToString() => $"{Name} {RRClassText.ToText(Class)} {RRTypeText.ToText(Type)}";
}
