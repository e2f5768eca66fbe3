namespace Ananas.Server.Hosting;

/// <summary>
/// The outcome of a configuration reload. <see cref="Error"/> set: the new configuration was rejected and the
/// running one stays. Otherwise <see cref="Applied"/> lists the keys now in effect, <see cref="RestartNeeded"/>
/// those that differ from what the process started with but only take effect after a restart, and
/// <see cref="ListenerErrors"/> any listen address that could not be bound (the others are served).
/// </summary>
public sealed record ReloadResult(
    string? Error,
    IReadOnlyList<string> Applied,
    IReadOnlyList<string> RestartNeeded,
    IReadOnlyList<string> ListenersAdded,
    IReadOnlyList<string> ListenersRemoved,
    IReadOnlyList<string> ListenerErrors)
{
    public bool Ok => Error is null;

    public static ReloadResult Rejected(string error) => new(error, [], [], [], [], []);
}
