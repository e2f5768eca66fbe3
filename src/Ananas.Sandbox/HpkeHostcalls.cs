using System.Buffers;
using System.Security.Cryptography;
using Ananas.Sandbox.Crypto;
using Wasmtime;

namespace Ananas.Sandbox;

/// <summary>
/// The crypto hostcalls (docs/plugins.md, "Cryptography"): HPKE (RFC 9180) with the plugin's host-held keys,
/// HKDF-SHA256, the two AEADs, and random bytes. Private keys never enter guest memory: the guest names a key by
/// its key id and gets a context handle valid for the callback.
/// </summary>
internal static class HpkeHostcalls
{
    private const int NotFound = -1;
    private const int InvalidArgument = -2;
    private const int BufferTooSmall = -3;
    private const int NotAllowed = -4;

    private const ValueKind I32 = ValueKind.Int32;

    public static readonly IReadOnlyDictionary<string, (ValueKind[] Parameters, ValueKind[] Results)> Signatures =
        new Dictionary<string, (ValueKind[], ValueKind[])>
        {
            ["hpke_key_configs"] = ([I32, I32], [I32]),
            ["hpke_setup_receiver"] = ([I32, I32, I32, I32, I32, I32], [I32]),
            ["hpke_setup_sender"] = ([I32, I32, I32, I32, I32, I32, I32], [I32]),
            ["hpke_open"] = ([I32, I32, I32, I32, I32, I32, I32], [I32]),
            ["hpke_seal"] = ([I32, I32, I32, I32, I32, I32, I32], [I32]),
            ["hpke_export"] = ([I32, I32, I32, I32, I32], [I32]),
            ["hpke_close"] = ([I32], [I32]),
            ["hkdf_extract"] = ([I32, I32, I32, I32, I32], [I32]),
            ["hkdf_expand"] = ([I32, I32, I32, I32, I32, I32], [I32]),
            ["aead_seal"] = ([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], [I32]),
            ["aead_open"] = ([I32, I32, I32, I32, I32, I32, I32, I32, I32, I32, I32], [I32]),
            ["random_bytes"] = ([I32, I32], [I32]),
        };

    public static void Define(Linker linker)
    {
        const string m = AbiCheck.ImportModule;
        linker.DefineFunction(m, "hpke_key_configs", new Func<int, int, int>(KeyConfigs));
        linker.DefineFunction(m, "hpke_setup_receiver", new Func<int, int, int, int, int, int, int>(SetupReceiver));
        linker.DefineFunction(m, "hpke_setup_sender", new Func<int, int, int, int, int, int, int, int>(SetupSender));
        linker.DefineFunction(m, "hpke_open", new Func<int, int, int, int, int, int, int, int>((c, a, al, x, xl, o, oc) => SealOrOpen("hpke_open", false, c, a, al, x, xl, o, oc)));
        linker.DefineFunction(m, "hpke_seal", new Func<int, int, int, int, int, int, int, int>((c, a, al, x, xl, o, oc) => SealOrOpen("hpke_seal", true, c, a, al, x, xl, o, oc)));
        linker.DefineFunction(m, "hpke_export", new Func<int, int, int, int, int, int>(Export));
        linker.DefineFunction(m, "hpke_close", new Func<int, int>(handle =>
        {
            var instance = PluginInstance.Running;
            if (instance.HpkeContext(handle) is null) return InvalidArgument;
            instance.CloseHpkeContext(handle);
            return 0;
        }));
        linker.DefineFunction(m, "hkdf_extract", new Func<int, int, int, int, int, int>(HkdfExtract));
        linker.DefineFunction(m, "hkdf_expand", new Func<int, int, int, int, int, int, int>(HkdfExpand));
        linker.DefineFunction(m, "aead_seal", new Func<int, int, int, int, int, int, int, int, int, int, int, int>((id, k, kl, n, nl, a, al, x, xl, o, oc) => Aead("aead_seal", true, id, k, kl, n, nl, a, al, x, xl, o, oc)));
        linker.DefineFunction(m, "aead_open", new Func<int, int, int, int, int, int, int, int, int, int, int, int>((id, k, kl, n, nl, a, al, x, xl, o, oc) => Aead("aead_open", false, id, k, kl, n, nl, a, al, x, xl, o, oc)));
        linker.DefineFunction(m, "random_bytes", new Func<int, int, int>((buffer, length) =>
        {
            RandomNumberGenerator.Fill(PluginInstance.Running.View().Range("random_bytes", buffer, length));
            return length;
        }));
    }

    private static int KeyConfigs(int buffer, int capacity)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var destination = memory.Range("hpke_key_configs", buffer, capacity);
        if (instance.Version.Definition.HpkeKeys is not { } keys) return NotFound;
        var configs = keys.OdohConfigs();
        if (configs.Length > capacity) return BufferTooSmall;
        configs.CopyTo(destination);
        return configs.Length;
    }

    /// <summary>SetupBaseR with the key whose key id is given; a context handle, -1 for an unknown (or expired) key id, -2 for a bad enc.</summary>
    private static int SetupReceiver(int keyId, int keyIdLength, int enc, int encLength, int info, int infoLength)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var id = memory.Range("hpke_setup_receiver", keyId, keyIdLength);
        var encBytes = memory.Range("hpke_setup_receiver", enc, encLength);
        var infoBytes = memory.Range("hpke_setup_receiver", info, infoLength);
        if (instance.Context is null) return NotAllowed;
        if (instance.Version.Definition.HpkeKeys?.Find(id) is not { } key) return NotFound;
        if (instance.FreeHpkeSlot(out var context) is var handle && context is null) return handle;
        if (!Hpke.SetupBaseR(key.Aead, encBytes, key.PrivateKey, key.PublicKey, infoBytes, context)) return InvalidArgument;
        return instance.OpenHpkeContext(handle);
    }

    /// <summary>SetupBaseS to a public key (AEAD id given): writes enc (32 bytes) and returns a context handle.</summary>
    private static int SetupSender(int aead, int publicKey, int publicKeyLength, int info, int infoLength, int encOut, int encCapacity)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var pk = memory.Range("hpke_setup_sender", publicKey, publicKeyLength);
        var infoBytes = memory.Range("hpke_setup_sender", info, infoLength);
        var encBytes = memory.Range("hpke_setup_sender", encOut, encCapacity);
        if (instance.Context is null) return NotAllowed;
        if ((uint)aead > ushort.MaxValue || !Hpke.IsSupported((ushort)aead)) return InvalidArgument;
        if (encCapacity < Hpke.Length) return BufferTooSmall;
        if (instance.FreeHpkeSlot(out var context) is var handle && context is null) return handle;
        Span<byte> enc = stackalloc byte[Hpke.Length];
        if (!Hpke.SetupBaseS((HpkeAead)aead, pk, infoBytes, context, enc)) return InvalidArgument;
        enc.CopyTo(encBytes);
        return instance.OpenHpkeContext(handle);
    }

    private static int SealOrOpen(string hostcall, bool seal, int handle, int aad, int aadLength, int input, int inputLength, int output, int capacity)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var aadBytes = memory.Range(hostcall, aad, aadLength);
        var inputBytes = memory.Range(hostcall, input, inputLength);
        var outputBytes = memory.Range(hostcall, output, capacity);
        if (instance.HpkeContext(handle) is not { } context) return InvalidArgument;
        int length = seal ? inputLength + Hpke.TagLength : inputLength - Hpke.TagLength;
        if (length < 0) return InvalidArgument;
        if (length > capacity) return BufferTooSmall;
        // The guest may pass overlapping buffers: then the work is on a copy of the input.
        byte[]? copy = Overlaps(input, inputLength, output, length) ? CopyOf(inputBytes) : null;
        ReadOnlySpan<byte> source = copy is null ? inputBytes : copy.AsSpan(0, inputLength);
        try
        {
            if (seal)
            {
                context.Seal(aadBytes, source, outputBytes[..length]);
                return length;
            }
            return context.Open(aadBytes, source, outputBytes[..length]) ? length : InvalidArgument;
        }
        finally
        {
            if (copy is not null) ArrayPool<byte>.Shared.Return(copy, clearArray: true);
        }
    }

    private static int Export(int handle, int exporterContext, int contextLength, int output, int length)
    {
        var instance = PluginInstance.Running;
        var memory = instance.View();
        var contextBytes = memory.Range("hpke_export", exporterContext, contextLength);
        var outputBytes = memory.Range("hpke_export", output, length);
        if (instance.HpkeContext(handle) is not { } context) return InvalidArgument;
        if (length > Hpke.MaxExpand) return InvalidArgument;
        if (!Overlaps(exporterContext, contextLength, output, length))
        {
            context.Export(contextBytes, outputBytes);
            return length;
        }
        var copy = CopyOf(contextBytes);
        try { context.Export(copy.AsSpan(0, contextLength), outputBytes); }
        finally { ArrayPool<byte>.Shared.Return(copy, clearArray: true); }
        return length;
    }

    private static int HkdfExtract(int salt, int saltLength, int ikm, int ikmLength, int output)
    {
        var memory = PluginInstance.Running.View();
        var saltBytes = memory.Range("hkdf_extract", salt, saltLength);
        var ikmBytes = memory.Range("hkdf_extract", ikm, ikmLength);
        var outputBytes = memory.Range("hkdf_extract", output, Hpke.Length);
        Span<byte> prk = stackalloc byte[Hpke.Length];
        Hpke.Extract(saltBytes, ikmBytes, prk);
        prk.CopyTo(outputBytes);
        prk.Clear();
        return Hpke.Length;
    }

    private static int HkdfExpand(int prk, int prkLength, int info, int infoLength, int output, int length)
    {
        var memory = PluginInstance.Running.View();
        var prkBytes = memory.Range("hkdf_expand", prk, prkLength);
        var infoBytes = memory.Range("hkdf_expand", info, infoLength);
        var outputBytes = memory.Range("hkdf_expand", output, length);
        if (prkLength < Hpke.Length || length > Hpke.MaxExpand) return InvalidArgument;
        if (!Overlaps(prk, prkLength, output, length) && !Overlaps(info, infoLength, output, length))
        {
            Hpke.Expand(prkBytes, infoBytes, outputBytes);
            return length;
        }
        byte[] prkCopy = CopyOf(prkBytes), infoCopy = CopyOf(infoBytes);
        try { Hpke.Expand(prkCopy.AsSpan(0, prkLength), infoCopy.AsSpan(0, infoLength), outputBytes); }
        finally
        {
            ArrayPool<byte>.Shared.Return(prkCopy, clearArray: true);
            ArrayPool<byte>.Shared.Return(infoCopy, clearArray: true);
        }
        return length;
    }

    private static int Aead(string hostcall, bool seal, int aead, int key, int keyLength, int nonce, int nonceLength, int aad, int aadLength, int input, int inputLength, int output, int capacity)
    {
        var memory = PluginInstance.Running.View();
        var keyBytes = memory.Range(hostcall, key, keyLength);
        var nonceBytes = memory.Range(hostcall, nonce, nonceLength);
        var aadBytes = memory.Range(hostcall, aad, aadLength);
        var inputBytes = memory.Range(hostcall, input, inputLength);
        var outputBytes = memory.Range(hostcall, output, capacity);
        if ((uint)aead > ushort.MaxValue || !Hpke.IsSupported((ushort)aead)) return InvalidArgument;
        var id = (HpkeAead)aead;
        if (keyLength != Hpke.KeyLength(id) || nonceLength != Hpke.NonceLength) return InvalidArgument;
        int length = seal ? inputLength + Hpke.TagLength : inputLength - Hpke.TagLength;
        if (length < 0) return InvalidArgument;
        if (length > capacity) return BufferTooSmall;
        byte[]? copy = Overlaps(input, inputLength, output, length) ? CopyOf(inputBytes) : null;
        ReadOnlySpan<byte> source = copy is null ? inputBytes : copy.AsSpan(0, inputLength);
        try
        {
            if (seal)
            {
                Hpke.Seal(id, keyBytes, nonceBytes, aadBytes, source, outputBytes[..length]);
                return length;
            }
            return Hpke.Open(id, keyBytes, nonceBytes, aadBytes, source, outputBytes[..length]) ? length : InvalidArgument;
        }
        finally
        {
            if (copy is not null) ArrayPool<byte>.Shared.Return(copy, clearArray: true);
        }
    }

    /// <summary>Whether two ranges of guest memory share a byte (then an input is copied before the output is written).</summary>
    private static bool Overlaps(int a, int aLength, int b, int bLength) =>
        aLength > 0 && bLength > 0 && (long)a < (long)b + bLength && (long)b < (long)a + aLength;

    /// <summary>A pooled copy of guest bytes (its first bytes; return it to the pool, cleared).</summary>
    private static byte[] CopyOf(ReadOnlySpan<byte> bytes)
    {
        var copy = ArrayPool<byte>.Shared.Rent(Math.Max(1, bytes.Length));
        bytes.CopyTo(copy);
        return copy;
    }
}
