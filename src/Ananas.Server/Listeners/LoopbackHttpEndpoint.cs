using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Ananas.Server.Listeners;

/// <summary>
/// A minimal plain-HTTP Kestrel endpoint for the operator-facing listeners (metrics, control): starts one
/// request handler on an address, turns bind failures into <see cref="ListenerBindException"/>, and reports
/// the port actually bound (port 0 picks a free one).
/// </summary>
public static class LoopbackHttpEndpoint
{
    /// <param name="key">The config key of this endpoint (<c>metrics.listen</c>), named in a bind error.</param>
    public static WebApplication Start(IPEndPoint endPoint, string key, RequestDelegate handler, out IPEndPoint bound)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(o =>
        {
            o.AddServerHeader = false;
            o.Listen(endPoint);
        });
        var app = builder.Build();
        app.Run(handler);
        try
        {
            app.StartAsync().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw ListenerBindException.FromKestrel("http", endPoint, e, key);
        }
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        bound = new IPEndPoint(endPoint.Address, address is null ? endPoint.Port : new Uri(address).Port);
        return app;
    }
}
