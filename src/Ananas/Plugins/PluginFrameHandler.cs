using Ananas.Sandbox;
using Ananas.Server.Pipeline;

namespace Ananas.Cli.Plugins;

/// <summary>
/// The plugins' frame phase for the DoH listener: an HTTP request that is not an RFC 8484 query becomes a
/// <see cref="PluginCallContext"/> with <see cref="PluginCallContext.Frame"/> set, the guest's reply (frame_reply
/// and ANSWER) goes back as the HTTP response. resolve_start runs queries through the listener's pipeline.
/// </summary>
internal sealed class PluginFrameHandler(PluginHost host) : IHttpFrameHandler
{
    public async ValueTask<HttpFrameReply?> HandleAsync(HttpFrameRequest request, Func<ReadOnlyMemory<byte>, CancellationToken, Task<byte[]?>> resolve, CancellationToken cancellationToken)
    {
        if (!host.HasCallbacks(PluginPhase.Frame)) return null;
        var call = new PluginCallContext
        {
            Transport = 3,
            QueryWire = request.Body,
            Frame = new FrameRequest(request.Method, request.PathAndQuery, request.ContentType, request.Body),
            Resolver = resolve,
            ArrivalMilliseconds = host.MonotonicMilliseconds,
        };
        var address = request.Client.Address.IsIPv4MappedToIPv6 ? request.Client.Address.MapToIPv4() : request.Client.Address;
        call.SetClient(address, (byte)(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 24 : 56));
        var verdict = await host.InvokeAsync(PluginPhase.Frame, call, cancellationToken).ConfigureAwait(false);
        return verdict == PluginVerdict.Answer && call.FrameReply is { } reply ? new HttpFrameReply(reply.Status, reply.ContentType, reply.Body) : null;
    }

    public override string ToString() => "plugins (frame)";
}
