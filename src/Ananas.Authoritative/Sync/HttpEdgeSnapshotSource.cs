using System.Net.Http.Headers;
using Ananas.Authoritative.Changes;

namespace Ananas.Authoritative.Sync;

/// <summary>
/// The pipeline API's <c>GET /edge/snapshot</c> (an API token valid for all zones): every zone as of one outbox
/// sequence, in <see cref="EdgeSnapshot"/>'s wire form.
/// </summary>
public sealed class HttpEdgeSnapshotSource : IEdgeSnapshotSource, IDisposable
{
    /// <summary>Largest snapshot read (a store of about ten million records).</summary>
    public const long MaxBytes = 2L << 30;

    private readonly HttpClient _http;
    private readonly Uri _snapshot;

    public HttpEdgeSnapshotSource(Uri api, string token)
    {
        _http = new HttpClient { Timeout = TimeSpan.FromMinutes(5), MaxResponseContentBufferSize = int.MaxValue };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        _snapshot = new Uri(api, "/edge/snapshot");
    }

    public async Task<EdgeSnapshot> FetchAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync(_snapshot, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            string body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new IOException($"{_snapshot}: HTTP {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}");
        }
        if (response.Content.Headers.ContentLength > MaxBytes) throw new InvalidDataException($"{_snapshot}: the snapshot is larger than {MaxBytes} bytes");
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return EdgeSnapshot.Decode(bytes);
    }

    public void Dispose() => _http.Dispose();
}
