using System.Text;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>The socket hostcalls (docs/plugins.md, "Sockets"); the state and limits live in <see cref="PluginInstance"/>.</summary>
internal static class SocketHostcalls
{
    private const ValueKind I32 = ValueKind.Int32;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Signatures =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["socket_open"] = ([I32, I32, I32], [I32]),
            ["socket_send"] = ([I32, I32, I32], [I32]),
            ["socket_recv"] = ([I32, I32], [I32]),
            ["socket_close"] = ([I32], [I32]),
        };

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "socket_open", new Func<int, int, int, int>((kind, address, length) =>
        {
            var instance = PluginInstance.Running;
            var text = Encoding.UTF8.GetString(instance.View().Range("socket_open", address, length));
            return instance.OpenSocket(kind, text);
        }));
        linker.DefineFunction(m, "socket_send", new Func<int, int, int, int>((id, data, length) =>
        {
            var instance = PluginInstance.Running;
            return instance.SendSocket(id, instance.View().Range("socket_send", data, length));
        }));
        linker.DefineFunction(m, "socket_recv", new Func<int, int, int>((id, capacity) => PluginInstance.Running.ReceiveSocket(id, capacity)));
        linker.DefineFunction(m, "socket_close", new Func<int, int>(id => PluginInstance.Running.CloseSocket(id)));
    }
}
