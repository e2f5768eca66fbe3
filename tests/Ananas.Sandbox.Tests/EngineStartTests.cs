namespace Ananas.Sandbox.Tests;

/// <summary>A host without plugins costs no Wasmtime engine, native library or epoch thread; the first load makes them.</summary>
public class EngineStartTests
{
    [Fact]
    public async Task A_host_makes_its_engine_at_the_first_load_and_not_before()
    {
        using var host = new PluginHost();
        var ctx = Queries.Context("version.test");
        Assert.Equal(PluginVerdict.Continue, await host.InvokeAsync(PluginPhase.Request, ctx));
        Assert.False(host.EngineCreated);

        await host.LoadAsync(Guests.Definition("versioned", name: "v", args: "v1"));

        Assert.True(host.EngineCreated);
        var answered = Queries.Context("version.test");
        Assert.Equal(PluginVerdict.Answer, await host.InvokeAsync(PluginPhase.Request, answered));
        Assert.Contains("\"v1\"", Assert.Single(Queries.TxtStrings(answered)));
    }

    [Fact]
    public void A_host_disposed_before_any_load_never_makes_an_engine()
    {
        var host = new PluginHost();
        host.Dispose();
        Assert.False(host.EngineCreated);
        Assert.Throws<ObjectDisposedException>(() => host.Engine);
    }
}
