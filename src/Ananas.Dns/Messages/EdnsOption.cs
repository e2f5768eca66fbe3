using System.Text;

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

/// <summary>One EDNS option. Subclasses model the options we act on; others stay <see cref="RawEdnsOption"/>.</summary>
public abstract class EdnsOption
{
    public abstract EdnsOptionCode Code { get; }

    /// <summary>The option's data (without code and length).</summary>
    public abstract byte[] GetData();

    public static EdnsOption Read(EdnsOptionCode code, ReadOnlySpan<byte> data) => code switch
    {
        EdnsOptionCode.ExtendedError => ExtendedErrorOption.Read(data),
        _ => new RawEdnsOption(code, data.ToArray()),
    };
}

/// <summary>An option kept as opaque bytes.</summary>
public sealed class RawEdnsOption(EdnsOptionCode code, byte[] data) : EdnsOption
{
    public override EdnsOptionCode Code { get; } = code;

    public byte[] Data { get; } = data;

    public override byte[] GetData() => Data;
}

/// <summary>Extended DNS Error (RFC 8914): an INFO-CODE and optional UTF-8 EXTRA-TEXT.</summary>
public sealed class ExtendedErrorOption(EdeCode infoCode, string extraText = "") : EdnsOption
{
    public override EdnsOptionCode Code => EdnsOptionCode.ExtendedError;

    public EdeCode InfoCode { get; } = infoCode;

    public string ExtraText { get; } = extraText;

    public override byte[] GetData()
    {
        var text = Encoding.UTF8.GetBytes(ExtraText);
        var data = new byte[2 + text.Length];
        data[0] = (byte)((ushort)InfoCode >> 8);
        data[1] = (byte)InfoCode;
        text.CopyTo(data, 2);
        return data;
    }

    internal static ExtendedErrorOption Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2) throw new DnsFormatException("Extended DNS Error option shorter than 2 octets");
        // RFC 8914 §2: EXTRA-TEXT is UTF-8 and may be NUL-terminated by sloppy senders; trim that.
        var text = data[2..];
        if (!text.IsEmpty && text[^1] == 0) text = text[..^1];
        return new ExtendedErrorOption((EdeCode)((data[0] << 8) | data[1]), Encoding.UTF8.GetString(text));
    }

    public override string ToString() => ExtraText.Length == 0 ? $"EDE {(ushort)InfoCode} ({InfoCode})" : $"EDE {(ushort)InfoCode} ({InfoCode}): {ExtraText}";
}
