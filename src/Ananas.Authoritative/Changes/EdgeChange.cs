using System.Buffers;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using MessagePack;

namespace Ananas.Authoritative.Changes;

/// <summary>What an <see cref="EdgeChange"/> does to a zone.</summary>
public enum EdgeChangeKind : byte
{
    /// <summary>Each listed owner gets exactly the listed RRsets (none: the owner's data is gone).</summary>
    SetNodes = 1,

    /// <summary>The zone is created or replaced whole by the listed owners (bulk import, bootstrap).</summary>
    ReplaceZone = 2,

    /// <summary>The zone and all its names are removed.</summary>
    DeleteZone = 3,
}

/// <summary>One owner name's complete new data: every RRset it has after the change.</summary>
public sealed record EdgeNode(DnsName Owner, IReadOnlyList<StoredRRset> RRsets);

/// <summary>
/// One change for the edge stores, as the zone pipeline's transformer publishes it: the RRset groups of the owner
/// names a database change touched (never the whole zone, except for <see cref="EdgeChangeKind.ReplaceZone"/>),
/// numbered by the change's outbox sequence so that an edge applies each once and in order. Wire form: a
/// MessagePack array <c>[sequence, kind, apex: bin, committed-unix-ms, nodes: [[owner: bin, rrsets: [[type, ttl, [rdata: bin]]]]]]</c>.
/// </summary>
public sealed record EdgeChange(long Sequence, EdgeChangeKind Kind, DnsName Apex, long CommittedUnixMs, IReadOnlyList<EdgeNode> Nodes)
{
    public byte[] Encode()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        var writer = new MessagePackWriter(buffer);
        writer.WriteArrayHeader(5);
        writer.Write(Sequence);
        writer.Write((byte)Kind);
        writer.Write(Apex.Wire);
        writer.Write(CommittedUnixMs);
        writer.WriteArrayHeader(Nodes.Count);
        foreach (var node in Nodes)
        {
            writer.WriteArrayHeader(2);
            writer.Write(node.Owner.Wire);
            NodeValue.WriteRRsets(ref writer, node.RRsets);
        }
        writer.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads a change; a malformed message is an <see cref="InvalidDataException"/> naming what is wrong.</summary>
    public static EdgeChange Decode(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != 5) throw new InvalidDataException("edge change: expected an array of 5 items");
            long sequence = reader.ReadInt64();
            var kind = (EdgeChangeKind)reader.ReadByte();
            if (kind is not (EdgeChangeKind.SetNodes or EdgeChangeKind.ReplaceZone or EdgeChangeKind.DeleteZone))
                throw new InvalidDataException($"edge change {sequence}: unknown kind {(byte)kind}");
            var apex = ReadName(ref reader);
            long committed = reader.ReadInt64();
            int count = reader.ReadArrayHeader();
            var nodes = new List<EdgeNode>(count);
            for (int i = 0; i < count; i++)
            {
                if (reader.ReadArrayHeader() != 2) throw new InvalidDataException($"edge change {sequence}: a node is not [owner, rrsets]");
                var owner = ReadName(ref reader);
                int sets = reader.ReadArrayHeader();
                var rrsets = new List<StoredRRset>(sets);
                for (int s = 0; s < sets; s++)
                {
                    if (reader.ReadArrayHeader() != 3) throw new InvalidDataException($"edge change {sequence}: an RRset is not [type, ttl, records]");
                    var type = (RRType)reader.ReadUInt16();
                    uint ttl = reader.ReadUInt32();
                    int n = reader.ReadArrayHeader();
                    var records = new List<byte[]>(n);
                    for (int r = 0; r < n; r++) records.Add(reader.ReadBytes()?.ToArray() ?? []);
                    rrsets.Add(new StoredRRset(type, ttl, records));
                }
                nodes.Add(new EdgeNode(owner, rrsets));
            }
            return new EdgeChange(sequence, kind, apex, committed, nodes);
        }
        catch (MessagePackSerializationException e)
        {
            throw new InvalidDataException($"edge change: not valid MessagePack ({e.Message})", e);
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("edge change: truncated", e);
        }
    }

    /// <summary>The sequence number of an encoded change without reading the rest; an <see cref="InvalidDataException"/> if it has none.</summary>
    public static long PeekSequence(ReadOnlyMemory<byte> bytes)
    {
        try
        {
            var reader = new MessagePackReader(bytes);
            if (reader.ReadArrayHeader() != 5) throw new InvalidDataException("edge change: expected an array of 5 items");
            return reader.ReadInt64();
        }
        catch (Exception e) when (e is MessagePackSerializationException or EndOfStreamException)
        {
            throw new InvalidDataException("edge change: no sequence number", e);
        }
    }

    private static DnsName ReadName(ref MessagePackReader reader)
    {
        var wire = reader.ReadBytes() ?? throw new InvalidDataException("edge change: a name is nil");
        return DnsName.FromWire(wire.ToArray());
    }
}

/// <summary>
/// Where the pipeline's publisher sends changes, in sequence order: straight into a local edge store (the
/// single-node default) or onto the distributed log that every edge consumes. Returns once the change is durable
/// there, so the publisher may then mark it published.
/// </summary>
public interface IEdgeChangePublisher
{
    Task PublishAsync(EdgeChange change, CancellationToken cancellationToken);

    /// <summary>
    /// Publishes <paramref name="changes"/> in order (a target may overlap them, never reorder them); returns how many,
    /// from the first, are durable, and the failure that stopped the rest (null: all of them).
    /// </summary>
    async Task<(int Published, Exception? Failure)> PublishAllAsync(IReadOnlyList<EdgeChange> changes, CancellationToken cancellationToken)
    {
        for (int i = 0; i < changes.Count; i++)
        {
            try
            {
                await PublishAsync(changes[i], cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return (i, e);
            }
        }
        return (changes.Count, null);
    }

    /// <summary>
    /// True when the target chains batches (<see cref="SendChainedAsync"/>): the publisher may send the next batch
    /// while the one before still awaits its acknowledgements. False: one batch is durable before the next is sent.
    /// </summary>
    bool ChainsBatches => false;

    /// <summary>
    /// Sends <paramref name="changes"/> in order, the first to be stored only right after the change numbered
    /// <paramref name="follows"/> (0: after whatever the target holds), each next one only right after its
    /// predecessor, so that a batch sent before its predecessor is durable is refused rather than stored out of order.
    /// Completes once they are sent; the task it returns completes as <see cref="PublishAllAsync"/>'s does (how many,
    /// from the first, are durable, and the failure that stopped the rest). A target that does not chain publishes here.
    /// </summary>
    async Task<Task<(int Published, Exception? Failure)>> SendChainedAsync(IReadOnlyList<EdgeChange> changes, long follows, CancellationToken cancellationToken) =>
        Task.FromResult(await PublishAllAsync(changes, cancellationToken).ConfigureAwait(false));
}
