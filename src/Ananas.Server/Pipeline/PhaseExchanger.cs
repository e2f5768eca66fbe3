using Ananas.Resolver;

namespace Ananas.Server.Pipeline;

/// <summary>
/// The <see cref="Phase.Upstream"/> phase: wraps the exchanger for one client query's resolution and asks the
/// handlers before each upstream sub-request. A refusal fails the sub-request as if the server had refused to
/// be asked (the recursor tries another server or gives up, as for any unreachable one). The recursor never
/// learns about phases; it only sees an <see cref="IExchanger"/>.
/// </summary>
internal sealed class PhaseExchanger(IExchanger inner, QueryPipeline pipeline, PhaseContext query, IPhaseHandler[] handlers) : IExchanger
{
    public async ValueTask<ExchangeResult> ExchangeAsync(ExchangeRequest request, CancellationToken cancellationToken)
    {
        // One context per sub-request: the recursor may ask several servers at once.
        var context = query.ForUpstream(request);
        var verdict = await pipeline.RunUpstreamPhaseAsync(context, handlers, cancellationToken).ConfigureAwait(false);
        if (verdict is PhaseVerdict.Refuse or PhaseVerdict.Drop)
        {
            Interlocked.Increment(ref pipeline.Counters.UpstreamRefused);
            return ExchangeResult.Failed(ExchangeStatus.Refused, request.Transport);
        }
        return await inner.ExchangeAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
