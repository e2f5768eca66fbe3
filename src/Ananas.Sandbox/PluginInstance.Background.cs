namespace Ananas.Sandbox;

internal sealed partial class PluginInstance
{
    /// <summary>Periodic callbacks registered by the start function: (interval, callback id).</summary>
    public List<(TimeSpan Interval, int CallbackId)> Periodic { get; } = [];
}
