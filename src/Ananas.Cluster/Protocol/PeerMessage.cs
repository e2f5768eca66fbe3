namespace Ananas.Cluster.Protocol;

/// <summary>The messages peers exchange (docs/CLUSTER.md, "Wire protocol").</summary>
public enum PeerMessageType : byte
{
    /// <summary>Handshake: version, nonce, node id (MAC keyed with the shared secret).</summary>
    Hello = 1,
    /// <summary>The initiator's proof that it derived the session key (first message under it).</summary>
    Auth = 2,
    /// <summary>A forwarded question: the client's address (family, 16 octets) and the DNS query, its ID the link's.</summary>
    Query = 3,
    /// <summary>The owner's reply (the DNS message; its ID is the query's).</summary>
    Answer = 4,
    /// <summary>The owner is resolving the question with this ID (it missed its cache): wait past the budget.</summary>
    Working = 5,
    /// <summary>The owner will not answer the question with this ID (dropped, shed): resolve it locally now.</summary>
    Unanswered = 6,
    Ping = 7,
    Pong = 8,
}

/// <summary>Flag bits of a message.</summary>
[Flags]
public enum PeerMessageFlags : byte
{
    None = 0,
    /// <summary>On a query: it was forwarded once already; the receiver answers it itself (no loops).</summary>
    Forwarded = 1,
}

/// <summary>One received message: its type, flags and body (a pooled buffer the receiver returns with <see cref="Return"/>).</summary>
public readonly struct PeerMessage(PeerMessageType type, PeerMessageFlags flags, byte[] buffer, int length)
{
    public PeerMessageType Type { get; } = type;
    public PeerMessageFlags Flags { get; } = flags;
    public ReadOnlySpan<byte> Body => buffer.AsSpan(0, length);
    public ReadOnlyMemory<byte> BodyMemory => buffer.AsMemory(0, length);

    public void Return() => System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
}
