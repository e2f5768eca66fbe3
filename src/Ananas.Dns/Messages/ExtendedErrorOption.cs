using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>Extended DNS Error (RFC 8914): an INFO-CODE and optional UTF-8 EXTRA-TEXT.</summary>
public sealed class ExtendedErrorOption : EdnsOption
{
    // Encoded once here so that writing the option allocates nothing.
    private readonly byte[] _text;

    public ExtendedErrorOption(EdeCode infoCode, string extraText = "")
    {
        InfoCode = infoCode;
        ExtraText = extraText;
        _text = Encoding.UTF8.GetBytes(extraText);
    }

    public override EdnsOptionCode Code => EdnsOptionCode.ExtendedError;

    public EdeCode InfoCode { get; }

    public string ExtraText { get; }

    public override int DataLength => 2 + _text.Length;

    public override void WriteData(ref WireWriter writer)
    {
        writer.WriteUInt16((ushort)InfoCode);
        writer.WriteBytes(_text);
    }

    internal const string TooShort = "Extended DNS Error option shorter than 2 octets";

    internal static ExtendedErrorOption Read(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2) throw new DnsFormatException(TooShort);
        // RFC 8914 §2: EXTRA-TEXT is not NUL-terminated, but sloppy senders add NULs; trim them all
        // (trimming only one would not survive a write and re-read).
        var text = data[2..];
        int end = text.Length;
        while (end > 0 && text[end - 1] == 0) end--;
        return new ExtendedErrorOption((EdeCode)((data[0] << 8) | data[1]), Encoding.UTF8.GetString(text[..end]));
    }

    public override string ToString() => ExtraText.Length == 0 ? $"EDE {(ushort)InfoCode} ({InfoCode})" : $"EDE {(ushort)InfoCode} ({InfoCode}): {ExtraText}";
}
