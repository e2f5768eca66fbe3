using Ananas.Authoritative.Answering;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;

namespace Ananas.Authoritative.Tests;

/// <summary>A store in a temp directory with the given zones imported, and an answerer over it.</summary>
internal sealed class StoreFixture : IDisposable
{
    private ushort _id = 1;

    private StoreFixture(string directory, AuthoritativeOptions? options)
    {
        Directory = directory;
        Store = new EdgeStore(directory);
        Options = options;
    }

    public string Directory { get; }

    public EdgeStore Store { get; }

    public AuthoritativeOptions? Options { get; }

    public AuthoritativeAnswerer Answerer { get; private set; } = null!;

    public static string TempDirectory() => Path.Combine(Path.GetTempPath(), $"ananas-auth-{Guid.NewGuid():N}");

    public static StoreFixture With(AuthoritativeOptions? options, params string[] zones)
    {
        var fixture = new StoreFixture(TempDirectory(), options);
        fixture.Import(zones);
        fixture.Answerer = new AuthoritativeAnswerer(fixture.Store, options);
        return fixture;
    }

    public static StoreFixture With(params string[] zones) => With(null, zones);

    /// <summary>Imports zone texts (each starts with its $ORIGIN) in one transaction.</summary>
    public void Import(params string[] zones)
    {
        var images = new List<ZoneImage>();
        foreach (var text in zones)
        {
            var file = ZoneFileReader.Parse(text, "test.zone");
            file.ThrowIfErrors();
            var apex = file.FirstOrigin!;
            images.Add(ZoneImage.Build(apex, file.Records.Select(r => r.Record)));
        }
        ZoneWriter.Replace(Store, images);
    }

    public DnsMessage Ask(string name, RRType type, out int reads, ushort payload = 4096, bool edns = true, bool dnssecOk = false, RRClass qclass = RRClass.IN)
    {
        var query = DnsMessage.CreateQuery(_id++, DnsName.Parse(name), type, qclass, recursionDesired: false, dnssecOk: dnssecOk);
        if (edns) query.Edns!.UdpPayloadSize = payload;
        else query.Edns = null;
        var reply = new byte[65535];
        int n = Answerer.Answer(query.ToArray(), reply, edns ? Math.Max((int)payload, 512) : 512, out reads);
        Assert.True(n > 0, "no reply");
        return DnsMessage.Parse(reply.AsSpan(0, n));
    }

    public DnsMessage Ask(string name, RRType type) => Ask(name, type, out _);

    public void Dispose()
    {
        Store.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
