namespace Ananas.Sandbox;

/// <summary>An HTTP request at phase frame: what the guest reads with frame_request and request_message.</summary>
public sealed record FrameRequest(string Method, string PathAndQuery, string ContentType, ReadOnlyMemory<byte> Body)
{
    /// <summary>The head as the guest sees it: <c>METHOD SP path?query LF content-type</c>.</summary>
    public string Head => $"{Method} {PathAndQuery}\n{ContentType}";
}

/// <summary>A guest's HTTP reply at phase frame.</summary>
public sealed record FrameReply(int Status, string ContentType, byte[] Body);
