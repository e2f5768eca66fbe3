using Wasmtime;

namespace Ananas.Sandbox.Tests;

/// <summary>Modules that do not match ABI v1 are refused at load with an error naming what is wrong.</summary>
public class AbiCheckTests
{
    /// <summary>A module with every required export (the bodies do the least possible), plus <paramref name="extra"/>.</summary>
    private static string Wat(string extra = "", int abiVersion = 1, string wakeSignature = "(param i32) (result i32)") => $$"""
        (module
          {{extra}}
          (memory (export "memory") 1)
          (func (export "ananas_abi_version") (result i32) i32.const {{abiVersion}})
          (func (export "ananas_alloc") (param i32) (result i32) i32.const 1024)
          (func (export "ananas_request_region") (result i32) i32.const 2048)
          (func (export "ananas_start") (param i32 i32) (result i32) i32.const 0)
          (func (export "ananas_trampoline") (param i32 i32) (result i32) i32.const 0)
          (func (export "ananas_wake") {{wakeSignature}} i32.const 0))
        """;

    private static async Task<string> LoadError(byte[] module)
    {
        using var host = new PluginHost(new ListLogger());
        var e = await Assert.ThrowsAsync<PluginLoadException>(() => host.LoadAsync(new PluginDefinition { Name = "bad", ModuleBytes = module }));
        Assert.Empty(host.Snapshot());
        return e.Message;
    }

    [Fact]
    public async Task A_minimal_conforming_module_loads()
    {
        using var host = new PluginHost(new ListLogger());
        var status = await host.LoadAsync(new PluginDefinition { Name = "minimal", ModuleBytes = Module.ConvertText(Wat()) });
        Assert.Equal(1, status.Version);
        Assert.False(host.HasCallbacks(PluginPhase.Request));
    }

    [Fact]
    public async Task Wrong_signature_import_is_named()
    {
        string message = await LoadError(File.ReadAllBytes(Guests.PathOf("wrong_signature")));
        Assert.Contains("import 'ananas.counter_add' has signature (i32, i32, i32) -> (), expected (i32, i32, i64) -> ()", message);
    }

    [Fact]
    public async Task Unknown_import_and_foreign_module_are_named()
    {
        string message = await LoadError(Module.ConvertText(Wat("""
            (import "ananas" "open_socket" (func (param i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
            """)));
        Assert.Contains("import 'ananas.open_socket' is not a hostcall of ABI v1", message);
        Assert.Contains("import 'wasi_snapshot_preview1.fd_write' is not from module 'ananas'", message);
    }

    [Fact]
    public async Task Missing_and_mistyped_exports_are_named()
    {
        string missing = await LoadError(Module.ConvertText("""(module (memory (export "memory") 1) (func (export "ananas_abi_version") (result i32) i32.const 1))"""));
        Assert.Contains("export 'ananas_start' is missing (expected (i32, i32) -> (i32))", missing);
        Assert.Contains("export 'ananas_trampoline' is missing", missing);
        Assert.DoesNotContain("ananas_abi_version", missing);

        string mistyped = await LoadError(Module.ConvertText(Wat(wakeSignature: "(param i64) (result i32)")));
        Assert.Contains("export 'ananas_wake' has signature (i64) -> (i32), expected (i32) -> (i32)", mistyped);
    }

    [Fact]
    public async Task Wrong_abi_version_is_refused()
    {
        string message = await LoadError(Module.ConvertText(Wat(abiVersion: 2)));
        Assert.Contains("ananas_abi_version() returned 2; this host speaks ABI version 1", message);
    }

    [Fact]
    public async Task A_region_outside_memory_is_refused()
    {
        string wat = Wat().Replace("(result i32) i32.const 2048", "(result i32) i32.const 65300");
        string message = await LoadError(Module.ConvertText(wat));
        Assert.Contains("ananas_request_region() returned 65300: 512 bytes there are not inside the guest's memory (65536 bytes)", message);
    }

    [Fact]
    public async Task Bytes_that_are_not_wasm_are_refused()
    {
        string message = await LoadError("not a module"u8.ToArray());
        Assert.StartsWith("plugin bad: not a valid WebAssembly module", message);
    }
}
