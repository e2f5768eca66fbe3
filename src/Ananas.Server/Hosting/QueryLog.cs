using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Threading.Channels;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Frames;

namespace Ananas.Server.Hosting;

/// <summary>
/// The optional query log (<c>log.query-log</c>): one JSON line per answered query with its time, client,
/// transport, question, rcode, Extended DNS Errors, whether the cache answered it, and the latency. The query
/// path only copies the reply into a preallocated byte ring and queues a small entry in a bounded channel (no
/// allocation); a background task parses and writes it, then frees its ring space. When the ring or the channel
/// is full (the disk is slower than the traffic) the entry is dropped and counted (<see cref="Dropped"/>,
/// <c>ananas_query_log_dropped_total</c>) rather than slowing the answers.
/// </summary>
public sealed class QueryLog : IAsyncDisposable
{
    /// <summary>Entries waiting to be written before new ones are dropped.</summary>
    public const int Capacity = 16_384;

    /// <summary>Bytes of replies waiting to be written (at ~100 octets a reply, more than <see cref="Capacity"/> of them).</summary>
    public const int RingBytes = 4 << 20;

    private readonly Channel<Entry> _entries = Channel.CreateBounded<Entry>(new BoundedChannelOptions(Capacity)
    {
        FullMode = BoundedChannelFullMode.Wait, // with TryWrite: refused when full (counted as dropped), never waits
        SingleReader = true,
        AllowSynchronousContinuations = false,
    });
    private readonly Stream _output;
    private readonly bool _ownsOutput;
    private readonly Task _writer;
    private static readonly ReadOnlyMemory<byte> Newline = "\n"u8.ToArray();
    private long _dropped;
    private long _written;

    /// <summary>The ring: producers reserve at <see cref="_head"/> under <see cref="_ringLock"/>; the writer frees up to <see cref="_tail"/>. Absolute positions; the index is modulo the size.</summary>
    private readonly byte[] _ring = GC.AllocateUninitializedArray<byte>(RingBytes);
    private readonly Lock _ringLock = new();
    private long _head;
    private long _tail;

    /// <summary>One reply: its bytes are at <see cref="Start"/> (absolute ring position) for <see cref="Length"/> octets.</summary>
    /// <param name="Shadow">For a live shadow difference (<see cref="RecordShadow"/>): the differing fields; null for a reply.</param>
    /// <param name="Spans">The query's tracing spans (<see cref="Frame.Spans"/>, copied), relative to <paramref name="Arrival"/>; null when none.</param>
    private readonly record struct Entry(long UnixMilliseconds, ClientAddress Client, Transport Transport, long Start, int Length, bool CacheHit, long LatencyTicks,
        string? Shadow = null, string? Reference = null, TraceSpan[]? Spans = null, long Arrival = 0);

    /// <param name="output">Where lines go; owned (closed on dispose) when <paramref name="ownsOutput"/>.</param>
    public QueryLog(Stream output, bool ownsOutput)
    {
        _output = output;
        _ownsOutput = ownsOutput;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>A log appending to <paramref name="target"/> (a path), or to standard output for <c>stdout</c>.</summary>
    public static QueryLog Open(string target) => target == "stdout"
        ? new QueryLog(Console.OpenStandardOutput(), ownsOutput: false)
        : new QueryLog(new FileStream(target, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1 << 16, useAsync: true), ownsOutput: true);

    /// <summary>Entries lost because the writer fell behind.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Lines written.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records a reply about to be sent (called on the query path: copies, never blocks, allocates nothing steady-state).</summary>
    /// <remarks>A query with tracing spans (a plugin traced it) costs one copy of them.</remarks>
    public void Record(Frame frame, ReadOnlySpan<byte> reply, bool cacheHit) =>
        Enqueue(new Entry(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), frame.Address, frame.Transport, 0, reply.Length, cacheHit,
            Stopwatch.GetTimestamp() - frame.ArrivalTimestamp, Spans: frame.Spans is { Count: > 0 } spans ? [.. spans] : null, Arrival: frame.ArrivalTimestamp), reply);

    /// <summary>
    /// Records a live shadow difference (off the query path): our reply, the fields in which the reference's answer
    /// differed (<c>"shadow":"rcode,answerrrsets"</c>) and that answer in short (<c>"reference"</c>).
    /// </summary>
    public void RecordShadow(ClientAddress client, Transport transport, ReadOnlySpan<byte> reply, string differences, string reference) =>
        Enqueue(new Entry(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), client, transport, 0, reply.Length, false, 0, differences, reference), reply);

    private void Enqueue(Entry entry, ReadOnlySpan<byte> reply)
    {
        lock (_ringLock)
        {
            // Contiguous space: a reply that would wrap starts at the ring's beginning instead (the gap is freed with it).
            long start = _head;
            int index = (int)(start % RingBytes);
            if (index + reply.Length > RingBytes) start += RingBytes - index;
            if (start + reply.Length - Volatile.Read(ref _tail) > RingBytes)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }
            // Copied before the entry is queued: the writer may read an entry the moment it is queued. Queued in the
            // same lock as the reservation, so that entries are queued in ring order and freed in it.
            reply.CopyTo(_ring.AsSpan((int)(start % RingBytes)));
            if (!_entries.Writer.TryWrite(entry with { Start = start }))
            {
                Interlocked.Increment(ref _dropped);
                return;
            }
            _head = start + reply.Length;
        }
    }

    private async Task WriteLoopAsync()
    {
        await using var json = new Utf8JsonWriter(_output, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        var reader = _entries.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var entry))
            {
                try
                {
                    WriteLine(json, entry, _ring.AsSpan((int)(entry.Start % RingBytes), entry.Length));
                }
                finally
                {
                    Volatile.Write(ref _tail, entry.Start + entry.Length);
                }
                await json.FlushAsync().ConfigureAwait(false);
                await _output.WriteAsync(Newline).ConfigureAwait(false);
                json.Reset();
                Interlocked.Increment(ref _written);
            }
            // Caught up: make what was written visible (one flush per burst, not per line).
            await _output.FlushAsync().ConfigureAwait(false);
        }
    }

    private static void WriteLine(Utf8JsonWriter json, in Entry entry, ReadOnlySpan<byte> reply)
    {
        json.WriteStartObject();
        json.WriteString("time", DateTimeOffset.FromUnixTimeMilliseconds(entry.UnixMilliseconds).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        json.WriteString("client", ClientText(entry.Client));
        json.WriteString("transport", Configuration.ListenAddress.SchemeOf(entry.Transport));
        DnsMessage? message = null;
        try
        {
            message = DnsMessage.Parse(reply);
        }
        catch (DnsFormatException)
        {
        }
        if (message?.Questions.FirstOrDefault() is { } question)
        {
            json.WriteString("qname", question.Name.ToString());
            json.WriteString("qtype", RRTypeText.ToText(question.Type));
        }
        // The header's rcode (FORMERR and REFUSED replies may have no parseable question).
        json.WriteString("rcode", RcodeText.ToText(message?.Rcode ?? (Rcode)(reply.Length >= 4 ? reply[3] & 0x0F : 0)));
        json.WriteStartArray("ede");
        if (message?.Edns is { } edns)
            foreach (var option in edns.Options)
                if (option is ExtendedErrorOption ede) json.WriteNumberValue((ushort)ede.InfoCode);
        json.WriteEndArray();
        if (entry.Shadow is not null)
        {
            json.WriteString("shadow", entry.Shadow);
            json.WriteString("reference", entry.Reference);
        }
        else
        {
            json.WriteBoolean("cache_hit", entry.CacheHit);
            json.WriteNumber("latency_ms", Math.Round(Stopwatch.GetElapsedTime(0, entry.LatencyTicks).TotalMilliseconds, 3));
            if (entry.Spans is { } spans) WriteSpans(json, spans, entry.Arrival);
        }
        json.WriteEndObject();
    }

    /// <summary><c>"spans":[{"source":"families","name":"match","start_ms":0.012,"duration_ms":0.004}]</c>, times from the query's arrival.</summary>
    private static void WriteSpans(Utf8JsonWriter json, TraceSpan[] spans, long arrival)
    {
        json.WriteStartArray("spans");
        foreach (var span in spans)
        {
            json.WriteStartObject();
            json.WriteString("source", span.Source);
            json.WriteString("name", span.Name);
            json.WriteNumber("start_ms", Math.Round(Stopwatch.GetElapsedTime(arrival, span.Start).TotalMilliseconds, 3));
            json.WriteNumber("duration_ms", Math.Round(Stopwatch.GetElapsedTime(span.Start, span.End).TotalMilliseconds, 3));
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static string ClientText(ClientAddress client)
    {
        return Listeners.ListenerBindException.Format(new IPEndPoint(client.ToIPAddress(), client.Port));
    }

    /// <summary>Writes what is queued, then closes the output (if owned).</summary>
    public async ValueTask DisposeAsync()
    {
        _entries.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        if (_ownsOutput) await _output.DisposeAsync().ConfigureAwait(false);
    }
}
