namespace Ananas.Server.Pipeline;

public sealed partial class QueryPipeline
{
    /// <summary>Set when plugins take HTTP frames (phase frame); the DoH listener asks it first for non-RFC 8484 requests.</summary>
    public IHttpFrameHandler? HttpFrames { get; set; }
}
