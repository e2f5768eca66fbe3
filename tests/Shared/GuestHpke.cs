using Wasmtime;

namespace Ananas.Tests.Shared;

/// <summary>
/// The host side of guests/tests/hpke.rs, HPKE compiled into a guest (for the comparison with the HPKE hostcalls):
/// loads the module in Wasmtime, fuel-metered as plugins run by default, and calls its exports through its buffer.
/// Shared by the sandbox tests (RFC 9180 vectors in the guest) and the benchmarks (host vs guest per ODoH query).
/// </summary>
public sealed class GuestHpke : IDisposable
{
    private readonly Engine _engine;
    private readonly Store _store;
    private readonly Memory _memory;
    private readonly int _buffer;
    private readonly Func<int, int> _vector;
    private readonly Func<int, int, int> _odohTarget;
    private readonly bool _fuel;

    public const int BufferSize = 16 * 1024;

    public GuestHpke(string modulePath, bool fuel = true)
    {
        using var config = new Config();
        config.WithFuelConsumption(fuel);
        _fuel = fuel;
        _engine = new Engine(config);
        using var module = Module.FromFile(_engine, modulePath);
        _store = new Store(_engine);
        using var linker = new Linker(_engine);
        var instance = linker.Instantiate(_store, module);
        _memory = instance.GetMemory("memory")!;
        Refuel();
        _buffer = instance.GetFunction<int>("buffer")!();
        _vector = instance.GetFunction<int, int>("vector")!;
        _odohTarget = instance.GetFunction<int, int, int>("odoh_target")!;
    }

    private void Refuel()
    {
        if (_fuel) _store.Fuel = ulong.MaxValue / 4;
    }

    private Span<byte> Buffer => _memory.GetSpan(_buffer, BufferSize);

    /// <summary>Runs the guest's <c>vector</c> export on <paramref name="input"/>; null when it fails (-1).</summary>
    public byte[]? Vector(ReadOnlySpan<byte> input)
    {
        Refuel();
        input.CopyTo(Buffer);
        int length = _vector(input.Length);
        return length < 0 ? null : Buffer[..length].ToArray();
    }

    /// <summary>The target's crypto for one ODoH query, <paramref name="iterations"/> times; the last sealed answer, or null.</summary>
    public byte[]? OdohTarget(ReadOnlySpan<byte> skR, ReadOnlySpan<byte> pkR, ReadOnlySpan<byte> enc, ReadOnlySpan<byte> ct, int iterations = 1)
    {
        Refuel();
        var buffer = Buffer;
        skR.CopyTo(buffer);
        pkR.CopyTo(buffer[32..]);
        enc.CopyTo(buffer[64..]);
        buffer[96] = (byte)(ct.Length >> 8);
        buffer[97] = (byte)ct.Length;
        ct.CopyTo(buffer[98..]);
        int length = _odohTarget(98 + ct.Length, iterations);
        return length < 0 ? null : Buffer[..length].ToArray();
    }

    public void Dispose()
    {
        _store.Dispose();
        _engine.Dispose();
    }
}
