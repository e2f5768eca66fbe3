using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// edns-tcp-keepalive (RFC 7828 §3.1): empty in queries; in responses a 16-bit idle timeout in units of
/// 100 milliseconds. Any other length is malformed (§3.2.1, §3.3.1: FORMERR).
/// </summary>
public sealed class TcpKeepaliveOption(ushort? timeout = null) : EdnsOption
{
    public override EdnsOptionCode Code => EdnsOptionCode.TcpKeepalive;

    /// <summary>The idle timeout in units of 100 ms, or null when the option is empty.</summary>
    public ushort? Timeout { get; } = timeout;

    public TimeSpan? TimeoutSpan => Timeout is { } t ? TimeSpan.FromMilliseconds(t * 100.0) : null;

    public override int DataLength => Timeout.HasValue ? 2 : 0;

    public override void WriteData(ref WireWriter writer)
    {
        if (Timeout is { } t) writer.WriteUInt16(t);
    }

    internal static string? Problem(ReadOnlySpan<byte> data) =>
        data.Length is 0 or 2 ? null : $"edns-tcp-keepalive option of {data.Length} octets (must be 0 or 2)";

    internal static TcpKeepaliveOption Read(ReadOnlySpan<byte> data)
    {
        if (Problem(data) is { } problem) throw new DnsFormatException(problem);
        return data.Length == 0 ? new TcpKeepaliveOption() : new TcpKeepaliveOption((ushort)((data[0] << 8) | data[1]));
    }

    public override string ToString() => Timeout is { } t ? $"TCP-KEEPALIVE: {t * 100} ms" : "TCP-KEEPALIVE";
}
