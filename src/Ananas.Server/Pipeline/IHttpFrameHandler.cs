using System.Net;

namespace Ananas.Server.Pipeline;

/// <summary>
/// Takes HTTP requests on the DoH listener that are not RFC 8484 queries (another media type such as
/// <c>application/oblivious-dns-message</c>, or another path such as <c>/.well-known/odohconfigs</c>): the plugins'
/// frame phase. A null reply leaves the request to the listener (404, 415).
/// </summary>
public interface IHttpFrameHandler
{
    ValueTask<HttpFrameReply?> HandleAsync(HttpFrameRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]?>> resolve, CancellationToken cancellationToken);
}

/// <summary>One HTTP request as the frame phase sees it.</summary>
public sealed record HttpFrameRequest(string Method, string PathAndQuery, string ContentType, ReadOnlyMemory<byte> Body, IPEndPoint Client);

/// <summary>The reply a frame handler chose.</summary>
public sealed record HttpFrameReply(int Status, string ContentType, byte[] Body);
