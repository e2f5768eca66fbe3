using Ananas.Sandbox.Crypto;

namespace Ananas.Sandbox;

/// <summary>Per-callback state of the crypto and result hostcalls: HPKE contexts by handle, operation results.</summary>
internal sealed partial class PluginInstance
{
    public const int MaxHpkeContexts = 4;

    private readonly byte[]?[] _results = new byte[]?[MaxPendingOperations];
    private readonly HpkeContext?[] _hpkeContexts = new HpkeContext?[MaxHpkeContexts];
    private bool _hpkeUsed;

    /// <summary>The result of a completed operation (kept until its handle is reused or the callback ends).</summary>
    public byte[]? OperationResult(int handle) => (uint)handle < MaxPendingOperations ? _results[handle] : null;

    /// <summary>Keeps an HPKE context for this callback; its handle, or -4 when <see cref="MaxHpkeContexts"/> are open.</summary>
    public int AddHpkeContext(HpkeContext context)
    {
        int handle = Array.IndexOf(_hpkeContexts, null);
        if (handle < 0) return -4;
        _hpkeContexts[handle] = context;
        _hpkeUsed = true;
        return handle;
    }

    public HpkeContext? HpkeContext(int handle) => (uint)handle < MaxHpkeContexts ? _hpkeContexts[handle] : null;

    public void CloseHpkeContext(int handle)
    {
        if ((uint)handle < MaxHpkeContexts) _hpkeContexts[handle] = null;
    }

    // Contexts hold per-query secrets: none survives its callback.
    private void EndCryptoCall()
    {
        if (!_hpkeUsed) return;
        Array.Clear(_hpkeContexts);
        _hpkeUsed = false;
    }
}
