using Ananas.Sandbox.Crypto;

namespace Ananas.Sandbox;

/// <summary>Per-callback state of the crypto and result hostcalls: HPKE contexts by handle, operation results.</summary>
internal sealed partial class PluginInstance
{
    public const int MaxHpkeContexts = 4;

    private readonly byte[]?[] _results = new byte[]?[MaxPendingOperations];
    // Allocated once per instance and reused by every callback (a setup overwrites a slot, closing wipes it).
    private readonly HpkeContext[] _hpkeSlots = Enumerable.Range(0, MaxHpkeContexts).Select(_ => new HpkeContext()).ToArray();
    private readonly bool[] _hpkeOpen = new bool[MaxHpkeContexts];
    private bool _hpkeUsed;

    /// <summary>The result of a completed operation (kept until its handle is reused or the callback ends).</summary>
    public byte[]? OperationResult(int handle) => (uint)handle < MaxPendingOperations ? _results[handle] : null;

    /// <summary>A free context slot for this callback (its handle once <see cref="OpenHpkeContext"/> is called), or -4 when <see cref="MaxHpkeContexts"/> are open.</summary>
    public int FreeHpkeSlot(out HpkeContext? context)
    {
        int handle = Array.IndexOf(_hpkeOpen, false);
        context = handle < 0 ? null : _hpkeSlots[handle];
        return handle < 0 ? -4 : handle;
    }

    /// <summary>Marks a slot set up by the caller as open: the guest may use its handle until it closes it or the callback ends.</summary>
    public int OpenHpkeContext(int handle)
    {
        _hpkeOpen[handle] = true;
        _hpkeUsed = true;
        return handle;
    }

    public HpkeContext? HpkeContext(int handle) => (uint)handle < MaxHpkeContexts && _hpkeOpen[handle] ? _hpkeSlots[handle] : null;

    public void CloseHpkeContext(int handle)
    {
        if ((uint)handle >= MaxHpkeContexts || !_hpkeOpen[handle]) return;
        _hpkeOpen[handle] = false;
        _hpkeSlots[handle].Clear();
    }

    // Contexts hold per-query secrets: none survives its callback.
    private void EndCryptoCall()
    {
        if (!_hpkeUsed) return;
        for (int i = 0; i < MaxHpkeContexts; i++) CloseHpkeContext(i);
        _hpkeUsed = false;
    }
}
