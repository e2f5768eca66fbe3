using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Resolver.Cache;
using Ananas.Resolver.Iteration;
using Ananas.Resolver.Validation;

namespace Ananas.Resolver;

/// <summary>The recursor's side of DNSSEC validation: when to validate, and what the client sees.</summary>
public sealed partial class Recursor
{
    /// <param name="Notice">An Extended DNS Error for an answer that is passed on but not trusted (e.g. EDE 27 for
    /// NSEC3 iterations above the limit, RFC 9276 §3.2).</param>
    private readonly record struct Validated(ResolutionOutcome Outcome, bool Secure, int UpstreamQueries, bool Bogus = false, ExtendedErrorOption? Notice = null);

    /// <summary>
    /// Validates the outcome when validation is on, the client did not set CD, and a trust anchor (and no negative
    /// one) covers the name. Bogus becomes SERVFAIL with the primitives' EDE. DNSKEY and DS are fetched as
    /// sub-resolutions through <paramref name="exchanger"/>.
    /// </summary>
    private async ValueTask<Validated> ValidateAsync(Request request, IExchanger exchanger, Question question, ResolutionOutcome outcome, CancellationToken cancellationToken)
    {
        if (!_options.Validation || request.Query.Has(HeaderFlags.CD)) return new(outcome, false, 0);
        if (outcome.Rcode is not (Rcode.NoError or Rcode.NXDomain)) return new(outcome, false, 0);
        if (!Validator.Covers(_options.TrustAnchors, _options.NegativeTrustAnchors, question.Name)) return new(outcome, false, 0);
        int queries = 0;
        async ValueTask<ResolutionOutcome> Resolve(DnsName name, RRType type)
        {
            var sub = new Request(DnsMessage.CreateQuery(0, name, type, RRClass.IN, recursionDesired: true, dnssecOk: true)) { Deadline = request.Deadline, Trace = request.Trace };
            var resolution = new Resolution(_options, _cache, _lame, _selector, _clock, exchanger, sub, cancellationToken) { Refresh = true };
            var result = await resolution.ResolveAsync(name, type, 0);
            queries += resolution.UpstreamQueries;
            return result;
        }
        // Data answered from the cache has no RRSIGs: unless the cache holds it as validated, fetch it again.
        if (LacksSignatures(outcome, request.Query.Edns?.DnssecOk == true)) outcome = await Resolve(question.Name, question.Type);
        var validator = new Validator(_options.TrustAnchors, _cache, _options.ValidationTime is { } pinned ? new PinnedClock(pinned) : _clock, Resolve, _options.ValidateDsa, _options.NegativeTrustAnchors, _options.Limits.Dnssec,
            _options.AggressiveNsec ? _cache.SecureNsec : null);
        var verdict = await validator.ValidateAsync(question.Name, question.Type, outcome);
        if (verdict.State == ValidationState.Bogus)
            return new(ResolutionOutcome.Fail(new ResolutionFailure(verdict.Ede ?? EdeCode.DnssecBogus, verdict.Reason)), false, queries, Bogus: true);
        var notice = verdict is { State: ValidationState.Insecure, Ede: { } code } ? new ExtendedErrorOption(code, verdict.Reason) : null;
        return new(outcome, verdict.State == ValidationState.Secure, queries, Notice: notice);
    }

    private sealed class PinnedClock(DateTimeOffset now) : IClock
    {
        public DateTimeOffset UtcNow => now;
    }

    /// <summary>Whether an answer RRset has no RRSIG with it (the cache keeps none) and either the client wants them (DO) or the cache does not hold it as validated.</summary>
    private bool LacksSignatures(ResolutionOutcome outcome, bool dnssecOk)
    {
        foreach (var rr in outcome.Answer)
        {
            if (rr.Type == RRType.RRSIG) continue;
            if (outcome.Answer.Exists(s => s.Data is RrsigData sig && sig.TypeCovered == rr.Type && s.Name.Equals(rr.Name))) continue;
            // Validated without signatures before: insecure (there are none to give), or secure and the client
            // does not want them.
            var cached = _cache.Get(rr.Name, rr.Type, RRClass.IN);
            if (cached is { Validation: ValidationState.Insecure } || (!dnssecOk && cached is { Validation: ValidationState.Secure })) continue;
            return true;
        }
        return false;
    }

    /// <summary>
    /// AD only for secure data and a client that asked for it (DO or AD, RFC 6840 §5.8); without DO the DNSSEC
    /// records the validator needed are left out (RFC 4035 §3.2.1) unless asked for by type.
    /// </summary>
    private void ApplyDnssecFlags(DnsMessage query, DnsMessage response, bool secure)
    {
        bool dnssecOk = query.Edns?.DnssecOk == true;
        response.Set(HeaderFlags.AD, secure && (dnssecOk || query.Has(HeaderFlags.AD)));
        if (!_options.Validation || dnssecOk) return;
        var qtype = query.Questions[0].Type;
        response.Answers.RemoveAll(rr => rr.Type is RRType.RRSIG or RRType.NSEC or RRType.NSEC3 && rr.Type != qtype);
        response.Authority.RemoveAll(rr => rr.Type is RRType.RRSIG or RRType.NSEC or RRType.NSEC3);
    }
}
