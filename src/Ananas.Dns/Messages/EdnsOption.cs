using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>EDNS option codes (IANA "DNS EDNS0 Option Codes").</summary>
public enum EdnsOptionCode : ushort
{
    Nsid = 3,
    ClientSubnet = 8,
    Expire = 9,
    Cookie = 10,
    TcpKeepalive = 11,
    Padding = 12,
    Chain = 13,
    KeyTag = 14,
    ExtendedError = 15,
}

/// <summary>
/// One EDNS option (RFC 6891 §6.1.2). Subclasses model the options we act on; others stay
/// <see cref="RawEdnsOption"/>. Options are immutable and serialise without allocating: the message
/// writer asks for <see cref="DataLength"/> to reserve space, then calls <see cref="WriteData"/>.
/// Two options are equal when their codes and data octets are.
/// </summary>
public abstract class EdnsOption : IEquatable<EdnsOption>
{
    public abstract EdnsOptionCode Code { get; }

    /// <summary>Length of the option data (without code and length), at most 65535.</summary>
    public abstract int DataLength { get; }

    /// <summary>Writes exactly <see cref="DataLength"/> octets of option data.</summary>
    public abstract void WriteData(ref WireWriter writer);

    /// <summary>The option data as a new array (tests, tools; not for hot paths).</summary>
    public byte[] GetData()
    {
        var data = new byte[DataLength];
        var w = new WireWriter(data, NameWriteMode.Uncompressed);
        WriteData(ref w);
        return data;
    }

    /// <summary>
    /// Why a known option's data is malformed (the text <see cref="Read"/> raises), or null when it is well-formed
    /// or of a kind with no structure to check. Allocates only for a malformed option, so the query reader can
    /// apply the full parser's rules on the cache-hit path.
    /// </summary>
    public static string? Problem(EdnsOptionCode code, ReadOnlySpan<byte> data) => code switch
    {
        EdnsOptionCode.ClientSubnet => ClientSubnetOption.Problem(data),
        EdnsOptionCode.Cookie => CookieOption.IsValidLength(data.Length) ? null : CookieOption.LengthProblem(data.Length),
        EdnsOptionCode.TcpKeepalive => TcpKeepaliveOption.Problem(data),
        EdnsOptionCode.ExtendedError => data.Length < 2 ? ExtendedErrorOption.TooShort : null,
        _ => null,
    };

    /// <summary>Decodes one option's data. Raises <see cref="DnsFormatException"/> when a known option is malformed.</summary>
    public static EdnsOption Read(EdnsOptionCode code, ReadOnlySpan<byte> data) => code switch
    {
        EdnsOptionCode.Nsid => NsidOption.Read(data),
        EdnsOptionCode.ClientSubnet => ClientSubnetOption.Read(data),
        EdnsOptionCode.Cookie => CookieOption.Read(data),
        EdnsOptionCode.TcpKeepalive => TcpKeepaliveOption.Read(data),
        EdnsOptionCode.Padding => PaddingOption.Read(data),
        EdnsOptionCode.ExtendedError => ExtendedErrorOption.Read(data),
        _ => new RawEdnsOption(code, data.ToArray()),
    };

    public bool Equals(EdnsOption? other)
    {
        if (other is null) return false;
        if (ReferenceEquals(this, other)) return true;
        if (Code != other.Code || DataLength != other.DataLength) return false;
        return GetData().AsSpan().SequenceEqual(other.GetData());
    }

    public override bool Equals(object? obj) => obj is EdnsOption other && Equals(other);

    public override int GetHashCode()
    {
        var h = new HashCode();
        h.Add(Code);
        h.AddBytes(GetData());
        return h.ToHashCode();
    }

    public override string ToString() => $"OPT={(ushort)Code}: {Convert.ToHexString(GetData())}";
}

/// <summary>An option kept as opaque bytes.</summary>
public sealed class RawEdnsOption(EdnsOptionCode code, byte[] data) : EdnsOption
{
    public override EdnsOptionCode Code { get; } = code;

    public byte[] Data { get; } = data;

    public override int DataLength => Data.Length;

    public override void WriteData(ref WireWriter writer) => writer.WriteBytes(Data);
}
