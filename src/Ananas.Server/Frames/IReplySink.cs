namespace Ananas.Server.Frames;

/// <summary>
/// Where a frame's answer goes: implemented by each listener, which knows its own framing and size limits.
/// The pipeline calls exactly one of <see cref="Send"/> or <see cref="Drop"/> per frame.
/// </summary>
public interface IReplySink
{
    /// <summary>
    /// The largest reply the client can take. <paramref name="clientUdpPayload"/> is the client's EDNS UDP
    /// payload size (0 without EDNS); stream transports ignore it and return 65535.
    /// </summary>
    int MaxReplySize(int clientUdpPayload);

    /// <summary>Sends the encoded reply (already within <see cref="MaxReplySize"/>). Must not keep the span.</summary>
    void Send(Frame frame, ReadOnlySpan<byte> reply);

    /// <summary>The frame will not be answered (garbage, shed, client gone).</summary>
    void Drop(Frame frame);

    /// <summary>Cancelled when the client has gone (TCP connection closed); never for datagram transports.</summary>
    CancellationToken ClientGone { get; }
}
