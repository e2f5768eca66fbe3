using System.Buffers;
using MessagePack;

namespace Ananas.Authoritative.Changes;

/// <summary>
/// Every zone of the database as a <see cref="EdgeChangeKind.ReplaceZone"/> change, consistent with outbox sequence
/// <see cref="Sequence"/>: an edge that loads it and then applies the changes after that sequence holds the database's
/// zones. Wire form (<c>GET /edge/snapshot</c>): a MessagePack array <c>[sequence, [change: bin (EdgeChange.Encode)]]</c>.
/// </summary>
public sealed record EdgeSnapshot(long Sequence, IReadOnlyList<EdgeChange> Zones)
{
    public const string MediaType = "application/vnd.ananas.edge-snapshot+msgpack";

    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(2);
        writer.Write(Sequence);
        writer.WriteArrayHeader(Zones.Count);
        foreach (var zone in Zones) writer.Write(zone.Encode());
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a snapshot; a malformed one is an <see cref="InvalidDataException"/>.</summary>
    public static EdgeSnapshot Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != 2) throw new InvalidDataException("edge snapshot: expected an array of 2 items");
            long sequence = reader.ReadInt64();
            int count = reader.ReadArrayHeader();
            var zones = new List<EdgeChange>(Math.Min(count, 1 << 16));
            for (int i = 0; i < count; i++)
            {
                var change = reader.ReadBytes() ?? throw new InvalidDataException("edge snapshot: a zone is nil");
                zones.Add(EdgeChange.Decode(change.ToArray()));
            }
            return new EdgeSnapshot(sequence, zones);
        }
        catch (MessagePackSerializationException e)
        {
            throw new InvalidDataException($"edge snapshot: not valid MessagePack ({e.Message})", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("edge snapshot: truncated", e);
        }
    }
}
