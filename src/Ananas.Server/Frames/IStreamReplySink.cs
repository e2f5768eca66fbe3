namespace Ananas.Server.Frames;

/// <summary>
/// A reply sink of a stream transport (TCP, TLS), which can carry an answer of several messages: a zone transfer
/// (RFC 5936 §2.2). The leading messages go through <see cref="SendPartAsync"/>; the frame still ends with exactly
/// one <see cref="IReplySink.Send"/> (the last message) or <see cref="IReplySink.Drop"/>, and holds its pipelining
/// slot until then.
/// </summary>
public interface IStreamReplySink : IReplySink
{
    /// <summary>
    /// Queues one message of <paramref name="frame"/>'s answer, waiting while the connection's queue of unwritten
    /// answers is full (a secondary that reads slowly costs bounded memory). False when the client has gone.
    /// </summary>
    ValueTask<bool> SendPartAsync(Frame frame, ReadOnlyMemory<byte> reply, CancellationToken cancellationToken);
}
