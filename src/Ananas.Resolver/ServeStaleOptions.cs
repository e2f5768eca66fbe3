namespace Ananas.Resolver;

/// <summary>
/// Serve-stale (RFC 8767): answering from expired cache data when fresh data cannot be had in time. Unbound's
/// <c>serve-expired*</c> options map onto these one to one (see each member).
/// </summary>
public sealed record ServeStaleOptions
{
    /// <summary>Off: the default, and <see cref="Disabled"/>.</summary>
    public static readonly ServeStaleOptions Disabled = new();

    /// <summary>Serve stale data at all (Unbound <c>serve-expired</c>).</summary>
    public bool Enabled { get; init; }

    /// <summary>
    /// How long past its expiry data may still be served (RFC 8767 §5 "max stale timer", 1–3 days suggested;
    /// Unbound <c>serve-expired-ttl</c>). Also how long the record cache keeps expired entries.
    /// </summary>
    public TimeSpan MaxStale { get; init; } = TimeSpan.FromDays(1);

    /// <summary>
    /// How long a client waits for fresh data before it gets stale data while resolution goes on in the background
    /// (RFC 8767 §5 "client response timer", 1.8 s suggested; Unbound <c>serve-expired-client-timeout</c>). Zero:
    /// stale data is served at once and refreshed in the background (Unbound's behaviour with a timeout of 0).
    /// </summary>
    public TimeSpan ClientTimeout { get; init; } = TimeSpan.FromMilliseconds(1800);

    /// <summary>The TTL of every record of a stale answer (RFC 8767 §4 suggests 30 s; Unbound <c>serve-expired-reply-ttl</c>).</summary>
    public uint AnswerTtl { get; init; } = 30;

    /// <summary>
    /// After resolution failed and stale data was served, the question is answered from stale data without trying
    /// upstream again for this long (RFC 8767 §4 "failure recheck", 30 s suggested; Unbound uses 5 s, NORR_TTL).
    /// </summary>
    public TimeSpan FailureRecheck { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// After a failed refresh, the stale window starts again from now, so that data outlives an outage longer than
    /// <see cref="MaxStale"/> as long as clients ask for it (Unbound <c>serve-expired-ttl-reset</c>). Carried for
    /// configuration compatibility; not acted on yet (the stale window counts from the original expiry).
    /// </summary>
    public bool ResetOnFailure { get; init; }
}
