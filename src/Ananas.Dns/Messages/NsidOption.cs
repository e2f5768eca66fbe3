using System.Text;
using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>Name Server Identifier (RFC 5001): empty in queries, opaque octets in responses.</summary>
public sealed class NsidOption : EdnsOption
{
    private readonly byte[] _data;

    public NsidOption(ReadOnlySpan<byte> data = default) => _data = data.ToArray();

    /// <summary>An NSID carrying <paramref name="text"/> as UTF-8 (servers usually send a host name).</summary>
    public static NsidOption FromText(string text) => new(Encoding.UTF8.GetBytes(text));

    public override EdnsOptionCode Code => EdnsOptionCode.Nsid;

    public ReadOnlySpan<byte> Data => _data;

    public override int DataLength => _data.Length;

    public override void WriteData(ref WireWriter writer) => writer.WriteBytes(_data);

    internal static NsidOption Read(ReadOnlySpan<byte> data) => new(data);

    public override string ToString()
    {
        if (_data.Length == 0) return "NSID";
        var sb = new StringBuilder("NSID: ").Append(Convert.ToHexString(_data)).Append(" (\"");
        foreach (byte b in _data) sb.Append(b is >= 0x20 and < 0x7F ? (char)b : '.');
        return sb.Append("\")").ToString();
    }
}
