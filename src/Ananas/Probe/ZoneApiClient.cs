using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Ananas.Cli.Probe;

/// <summary>The few calls of the zone API (docs/PIPELINE.md) the probe makes, with a bearer token.</summary>
internal sealed class ZoneApiClient : IDisposable
{
    private readonly HttpClient _http;

    public ZoneApiClient(Uri api, string token)
    {
        _http = new HttpClient { BaseAddress = api, Timeout = TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public async Task<string> ZoneIdAsync(string zone, CancellationToken cancellationToken)
    {
        var result = await SendAsync(HttpMethod.Get, $"/zones?name={Uri.EscapeDataString(zone)}", null, cancellationToken);
        foreach (var item in result.EnumerateArray()) return item.GetProperty("id").GetString()!;
        throw new IOException($"the API has no zone {zone}");
    }

    /// <summary>The id of the record <paramref name="name"/>/<paramref name="type"/>, created with <paramref name="content"/> when missing.</summary>
    public async Task<string> RecordIdAsync(string zoneId, string name, string type, string content, CancellationToken cancellationToken)
    {
        var found = await SendAsync(HttpMethod.Get, $"/zones/{zoneId}/dns_records?name={Uri.EscapeDataString(name)}&type={type}", null, cancellationToken);
        foreach (var item in found.EnumerateArray()) return item.GetProperty("id").GetString()!;
        var created = await SendAsync(HttpMethod.Post, $"/zones/{zoneId}/dns_records", new { name, type, content, ttl = 60 }, cancellationToken);
        return created.GetProperty("id").GetString()!;
    }

    public Task SetContentAsync(string zoneId, string recordId, string content, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Patch, $"/zones/{zoneId}/dns_records/{recordId}", new { content }, cancellationToken);

    /// <summary>The envelope's <c>result</c>; an <see cref="IOException"/> with the API's first error otherwise.</summary>
    private async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body);
        using var response = await _http.SendAsync(request, cancellationToken);
        using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken), cancellationToken: cancellationToken);
        var root = document.RootElement;
        if (!response.IsSuccessStatusCode || !root.GetProperty("success").GetBoolean())
        {
            string error = root.TryGetProperty("errors", out var errors) && errors.GetArrayLength() > 0 ? errors[0].GetProperty("message").GetString() ?? "" : "";
            throw new IOException($"{method} {path}: HTTP {(int)response.StatusCode} {error}");
        }
        return root.GetProperty("result").Clone();
    }

    public void Dispose() => _http.Dispose();
}
