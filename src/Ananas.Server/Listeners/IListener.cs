using System.Net;

namespace Ananas.Server.Listeners;

/// <summary>A bound transport endpoint feeding frames to the pipeline.</summary>
public interface IListener : IAsyncDisposable
{
    /// <summary>e.g. <c>udp://127.0.0.1:5353</c> (the actual port when 0 was asked).</summary>
    string Address { get; }

    IPEndPoint LocalEndPoint { get; }

    /// <summary>Binds (throwing <see cref="ListenerBindException"/>) and starts accepting frames.</summary>
    void Start();

    /// <summary>Stops accepting new frames; frames already taken are still answered.</summary>
    Task StopAsync();
}
