using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Resolver.Tests.Fakes;

namespace Ananas.Resolver.Tests;

/// <summary>QTYPE ANY and aliases: a CNAME is itself an answer to ANY (Unbound iter_minimise_chain).</summary>
public sealed class AnyQueryTests
{
    [Fact]
    public async Task A_cached_CNAME_answers_ANY_without_being_followed()
    {
        var world = new TestWorld();
        var recursor = world.Recursor(world.Options());
        await world.Resolve(recursor, "alias.example.com."); // caches alias CNAME www and www A
        int before = world.Authority.Log.Count;

        var response = await world.Resolve(recursor, "alias.example.com.", RRType.ANY);

        Assert.Equal(Rcode.NoError, response.Message.Rcode);
        Assert.Equal(["alias.example.com CNAME www.example.com."], Answers.Lines(response.Message.Answers));
        Assert.Equal(before, world.Authority.Log.Count);
    }
}
