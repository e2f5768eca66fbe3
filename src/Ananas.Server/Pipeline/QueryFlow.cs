namespace Ananas.Server.Pipeline;

/// <summary>
/// The stages of one query, in order; <see cref="QueryPipeline"/> walks them with one state machine. Phase stages
/// run the installed handlers of that <see cref="Phase"/>; the others are the pipeline's own steps. The front
/// (Request to Cache) runs on the listener's thread; a miss leaves through the scheduler and continues at
/// BeforeRecursion. Every reply leaves at Send (or, for errors, directly) through the pipeline's one Finish.
/// </summary>
internal enum QueryStage : byte
{
    Request,
    CacheLookup,

    /// <summary>The answer cache: a hit goes on to Response, a miss is dispatched to the scheduler.</summary>
    Cache,

    BeforeRecursion,

    /// <summary>The recursor (through the Upstream phase's exchanger when handlers watch sub-requests).</summary>
    Resolve,

    Resolved,

    /// <summary>The resolved answer is stored in the answer cache (unless a handler answered).</summary>
    Store,

    Response,

    /// <summary>Encoded for the transport and handed to Finish.</summary>
    Send,

    Done,
}

/// <summary>What a reply is, for the query log (cache hit), the console (decided by a handler) and the latency histograms.</summary>
internal enum ReplyKind : byte
{
    CacheHit,
    Resolved,

    /// <summary>A handler answered (phases Request to Resolved).</summary>
    PhaseAnswer,

    /// <summary>A handler refused.</summary>
    PhaseRefusal,

    /// <summary>The pipeline's own error replies: FORMERR, NOTIMP, REFUSED (ACL, shed), SERVFAIL of a failed resolution.</summary>
    Error,

    /// <summary>The authoritative role's answer source, and the /help probes.</summary>
    Local,
}
