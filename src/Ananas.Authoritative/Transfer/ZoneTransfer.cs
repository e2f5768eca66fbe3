using System.Buffers;
using System.Buffers.Binary;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Wire;
using Ananas.Server.Frames;
using Ananas.Server.Pipeline;
using LightningDB;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Authoritative.Transfer;

/// <summary>
/// Zone transfer out (AXFR, RFC 5936) to the secondaries of <c>allow-transfer</c>: over a stream transport only,
/// the zone's SOA first and last and every record between, in as many messages as it takes, all read in one
/// LMDB read transaction (<see cref="ZoneSnapshot"/>) so a concurrent write is seen entirely or not at all. IXFR
/// (RFC 1995) is answered with the full zone in the AXFR format (its §4 permits it), or with the SOA alone
/// when the secondary is up to date or asked over UDP (its §2: "use TCP").
/// </summary>
public sealed class ZoneTransfer
{
    private static readonly EventId TransferDone = new(3020, "TransferDone");
    private static readonly EventId TransferFailed = new(3021, "TransferFailed");
    private static readonly EventId TransferRefused = new(3022, "TransferRefused");

    private readonly EdgeStore _store;
    private readonly AccessList _allow;
    private readonly ILogger _logger;

    public ZoneTransfer(EdgeStore store, AccessList allow, ILogger? logger = null)
    {
        _store = store;
        _allow = allow;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>A message is closed once its records would pass this size (RFC 5936 §2.2: as many as fit; smaller keeps the secondary's buffers small).</summary>
    public int MessageTarget { get; init; } = 16 * 1024;

    public TransferCounters Counters { get; } = new();

    /// <summary>Takes AXFR and IXFR queries (true); leaves every other query to the answerer (false).</summary>
    public bool TryTakeOver(Frame frame, in QueryShape shape)
    {
        var message = frame.Message;
        if (shape.QuestionEnd < DnsHeader.Size + 5) return false;
        var type = (RRType)BinaryPrimitives.ReadUInt16BigEndian(message[(shape.QuestionEnd - 4)..]);
        if (type is not (RRType.AXFR or RRType.IXFR)) return false;
        DnsMessage query;
        try
        {
            query = DnsMessage.Parse(message);
        }
        catch (DnsFormatException)
        {
            return false; // the answerer's full read answers FORMERR
        }
        var question = query.Question;
        if (question.Class != RRClass.IN || !_allow.Allows(frame.Address))
        {
            Refuse(frame, query, Rcode.Refused, "not in allow-transfer");
            return true;
        }
        bool stream = frame.Sink is IStreamReplySink;
        if (type == RRType.AXFR && !stream)
        {
            // RFC 5936 §4.2: AXFR is defined over TCP only.
            Refuse(frame, query, Rcode.Refused, $"AXFR over {frame.Transport}");
            return true;
        }
        var snapshot = ZoneSnapshot.Open(_store, question.Name);
        if (snapshot is null)
        {
            // RFC 5936 §2.2.1: not authoritative for the zone asked for.
            Refuse(frame, query, Rcode.NotAuth, "not a zone of the store");
            return true;
        }
        if (type == RRType.IXFR && (!stream || IsUpToDate(query, snapshot.Serial)))
        {
            // RFC 1995 §2 and §4: the SOA alone says "up to date", or over UDP "ask again over TCP".
            var reply = Response(query, first: true);
            reply.Answers.Add(Soa(snapshot.Zone));
            snapshot.Dispose();
            Interlocked.Increment(ref Counters.SoaOnly);
            Send(frame, reply);
            return true;
        }
        var owned = frame.Detach();
        _ = StreamAsync(owned, (IStreamReplySink)owned.Sink, query, snapshot);
        return true;
    }

    /// <summary>The secondary's serial (the SOA in the IXFR query's authority section) is ours or newer (RFC 1982).</summary>
    private static bool IsUpToDate(DnsMessage query, uint serial)
    {
        foreach (var record in query.Authority)
            if (record.Data is SoaData soa) return (int)(serial - soa.Serial) <= 0;
        return false;
    }

    private async Task StreamAsync(Frame frame, IStreamReplySink sink, DnsMessage query, ZoneSnapshot snapshot)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        int messages = 0, records = 0;
        var apex = snapshot.Zone.Apex;
        try
        {
            var soa = Soa(snapshot.Zone);
            var current = Response(query, first: true);
            current.Answers.Add(soa);
            int size = SizeOf(soa);
            foreach (var record in snapshot.Records())
            {
                if (record.Type == RRType.SOA && record.Name == apex) continue;
                int recordSize = SizeOf(record);
                if (size + recordSize > MessageTarget && current.Answers.Count > 0)
                {
                    int length = current.WriteTo(buffer);
                    if (sink.ClientGone.IsCancellationRequested || !await sink.SendPartAsync(frame, buffer.AsMemory(0, length), sink.ClientGone).ConfigureAwait(false))
                    {
                        Interlocked.Increment(ref Counters.Failed);
                        sink.Drop(frame);
                        return;
                    }
                    messages++;
                    current = Response(query, first: false);
                    size = 0;
                }
                current.Answers.Add(record);
                size += recordSize;
                records++;
            }
            current.Answers.Add(soa);
            sink.Send(frame, buffer.AsSpan(0, current.WriteTo(buffer)));
            Interlocked.Increment(ref Counters.Complete);
            _logger.LogInformation(TransferDone, "zone {Zone} (serial {Serial}) transferred to {Client}: {Records} records in {Messages} messages",
                apex, snapshot.Serial, frame.ClientEndPoint, records + 2, messages + 1);
        }
        catch (Exception e) when (e is InvalidDataException or LightningException or DnsFormatException)
        {
            // RFC 5936 §2.2: an error ends the transfer with an error RCODE; the secondary discards what it got.
            Interlocked.Increment(ref Counters.Failed);
            _logger.LogError(TransferFailed, e, "transfer of zone {Zone} to {Client} failed", apex, frame.ClientEndPoint);
            var failure = Response(query, first: messages == 0);
            failure.Rcode = Rcode.ServFail;
            sink.Send(frame, buffer.AsSpan(0, failure.WriteTo(buffer)));
        }
        finally
        {
            snapshot.Dispose();
            frame.Dispose();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A transfer message: AA set, RD echoed, the question in the first message only (RFC 5936 §2.2.1).</summary>
    private static DnsMessage Response(DnsMessage query, bool first)
    {
        var response = query.CreateResponse();
        response.Set(HeaderFlags.AA);
        if (!first) response.Questions.Clear();
        return response;
    }

    private static ResourceRecord Soa(ZoneEntry zone)
    {
        var reader = new WireReader(zone.SoaRdata);
        return new ResourceRecord(zone.Apex, zone.SoaTtl, RData.Read(RRType.SOA, ref reader, zone.SoaRdata.Length));
    }

    /// <summary>The record's uncompressed size: an upper bound of what it adds to a message.</summary>
    private static int SizeOf(ResourceRecord record) => record.Name.Wire.Length + 10 + record.Data.ToWire().Length;

    private void Refuse(Frame frame, DnsMessage query, Rcode rcode, string why)
    {
        Interlocked.Increment(ref Counters.Refused);
        // Debug: anyone can ask, and the log must not be theirs to fill.
        _logger.LogDebug(TransferRefused, "{Type} of {Zone} from {Client} answered {Rcode}: {Why}",
            query.Question.Type, query.Question.Name, frame.ClientEndPoint, RcodeText.ToText(rcode), why);
        Send(frame, query.CreateResponse(rcode));
    }

    private static void Send(Frame frame, DnsMessage reply)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ushort.MaxValue);
        try
        {
            int limit = Math.Min(frame.Sink.MaxReplySize(reply.Edns is null ? 0 : 1232), ushort.MaxValue);
            frame.Sink.Send(frame, buffer.AsSpan(0, reply.WriteTo(buffer, limit)));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}

/// <summary>Zone transfers out, for <c>/metrics</c> (<c>ananas_auth_transfers_total{result}</c>).</summary>
public sealed class TransferCounters
{
    public long Complete;
    public long SoaOnly;
    public long Refused;
    public long Failed;

    public void AppendPrometheus(System.Text.StringBuilder sb)
    {
        sb.Append("# HELP ananas_auth_transfers_total Zone transfer requests (AXFR, IXFR) by result.\n# TYPE ananas_auth_transfers_total counter\n");
        Append(sb, "complete", Volatile.Read(ref Complete));
        Append(sb, "soa_only", Volatile.Read(ref SoaOnly));
        Append(sb, "refused", Volatile.Read(ref Refused));
        Append(sb, "failed", Volatile.Read(ref Failed));
    }

    private static void Append(System.Text.StringBuilder sb, string result, long value) =>
        sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"ananas_auth_transfers_total{{result=\"{result}\"}} {value}\n");
}
