using System.Buffers.Binary;
using Ananas.Dns;

namespace Ananas.Sandbox;

/// <summary>
/// The request region (docs/plugins.md, "The request region"): the query's common data, written into guest
/// memory once per callback so guest code reads fields directly instead of calling the host for each. Every
/// written byte is rewritten per callback, so nothing of one query (one client) is left for the next.
/// </summary>
internal static class RequestRegion
{
    public const ushort LayoutVersion = 1;
    public const int QnameOffset = 58;
    public const int QnameCapacity = 255;

    /// <summary>Bytes the guest must reserve (the ABI asks for at least 512; the layout uses 313).</summary>
    public const int MinimumSize = 512;

    /// <summary>Bytes the host writes.</summary>
    public const int WrittenSize = QnameOffset + QnameCapacity;

    public static void Write(Span<byte> region, PluginPhase phase, PluginCallContext context)
    {
        region = region[..WrittenSize];
        BinaryPrimitives.WriteUInt16LittleEndian(region, LayoutVersion);
        region[2] = (byte)phase;
        region[3] = context.Transport;
        BinaryPrimitives.WriteUInt16LittleEndian(region[4..], context.MessageId);
        BinaryPrimitives.WriteUInt16LittleEndian(region[6..], context.FlagsWord);
        BinaryPrimitives.WriteUInt16LittleEndian(region[8..], (ushort)context.QueryType);
        BinaryPrimitives.WriteUInt16LittleEndian(region[10..], (ushort)context.QueryClass);
        ushort edns = (ushort)((context.HasEdns ? 1 : 0) | (context.HasEdns && context.DnssecOk ? 2 : 0));
        BinaryPrimitives.WriteUInt16LittleEndian(region[12..], edns);
        BinaryPrimitives.WriteUInt16LittleEndian(region[14..], context.HasEdns ? context.EdnsPayloadSize : (ushort)0);

        var address = region.Slice(20, 16);
        var network = region.Slice(36, 16);
        address.Clear();
        network.Clear();
        context.ClientAddress.TryWriteBytes(address, out int addressLength);
        context.ClientNetwork.TryWriteBytes(network, out _);
        region[16] = addressLength == 4 ? (byte)4 : (byte)6;
        region[17] = context.ClientPrefixLength;
        ushort rcode = context.Response is { } response ? (ushort)response.Rcode : (ushort)0xFFFF;
        BinaryPrimitives.WriteUInt16LittleEndian(region[18..], rcode);
        BinaryPrimitives.WriteUInt32LittleEndian(region[52..], (uint)context.ArrivalMilliseconds);

        var qname = region.Slice(QnameOffset, QnameCapacity);
        int length = WriteQname(context.QueryNameWire, qname);
        // The rest of the area still holds the previous callback's name, possibly another client's: a guest may
        // read all 255 bytes, so nothing of that name may survive a shorter one.
        qname[length..].Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(region[56..], (ushort)length);
    }

    /// <summary>
    /// Lowercase presentation form without the final dot; bytes outside printable ASCII and the special
    /// characters are escaped as in zone files (\DDD, \.). A name whose escaped form exceeds 255 bytes (only
    /// possible with many escapes) is cut at a label boundary.
    /// </summary>
    internal static int WriteQname(ReadOnlySpan<byte> wire, Span<byte> destination)
    {
        int pos = 0, written = 0;
        Span<byte> label = stackalloc byte[4 * DnsName.MaxLabelLength + 1];
        while (wire[pos] != 0)
        {
            int len = wire[pos];
            int n = 0;
            if (written > 0) label[n++] = (byte)'.';
            foreach (byte raw in wire.Slice(pos + 1, len))
            {
                byte b = (uint)(raw - 'A') <= 'Z' - 'A' ? (byte)(raw | 0x20) : raw;
                if (b < 0x21 || b > 0x7E)
                {
                    label[n++] = (byte)'\\';
                    label[n++] = (byte)('0' + b / 100);
                    label[n++] = (byte)('0' + b / 10 % 10);
                    label[n++] = (byte)('0' + b % 10);
                }
                else
                {
                    if (b is (byte)'.' or (byte)'\\' or (byte)'"' or (byte)'(' or (byte)')' or (byte)';' or (byte)'@' or (byte)'$')
                        label[n++] = (byte)'\\';
                    label[n++] = b;
                }
            }
            if (written + n > destination.Length) break;
            label[..n].CopyTo(destination[written..]);
            written += n;
            pos += len + 1;
        }
        return written;
    }
}
