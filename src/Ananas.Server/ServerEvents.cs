using Microsoft.Extensions.Logging;

namespace Ananas.Server;

/// <summary>Event ids of the server's log messages (stable: operators filter on them).</summary>
public static class ServerEvents
{
    public static readonly EventId Listening = new(1000, "Listening");
    public static readonly EventId Stopping = new(1001, "Stopping");
    public static readonly EventId Stopped = new(1002, "Stopped");
    public static readonly EventId ConfigReloaded = new(1003, "ConfigReloaded");
    public static readonly EventId ConfigRejected = new(1004, "ConfigRejected");
    public static readonly EventId SelfSignedCertificate = new(1005, "SelfSignedCertificate");
    public static readonly EventId RestartNeeded = new(1006, "RestartNeeded");
    public static readonly EventId WarmUp = new(1007, "WarmUp");
    /// <summary>The control API listens outside loopback.</summary>
    public static readonly EventId ControlExposed = new(1010, "ControlExposed");
    public static readonly EventId ResolveFailed = new(2000, "ResolveFailed");
    public static readonly EventId ReceiveFailed = new(2001, "ReceiveFailed");
    public static readonly EventId SendFailed = new(2002, "SendFailed");
    public static readonly EventId ConnectionRejected = new(2003, "ConnectionRejected");

    // Phase handlers and plugins (3000–3099).
    public static readonly EventId PhaseHandlerFailed = new(3000, "PhaseHandlerFailed");
    public static readonly EventId PluginLoaded = new(3001, "PluginLoaded");
    public static readonly EventId PluginLoadFailed = new(3002, "PluginLoadFailed");
    public static readonly EventId PluginLog = new(3003, "PluginLog");
}
