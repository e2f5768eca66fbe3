using Ananas.Dns;

namespace Ananas.Cluster.Tests;

/// <summary>The unit of ownership is the registered domain (publicsuffix.org's algorithm), from the shipped list or a given file.</summary>
public sealed class PublicSuffixListTests
{
    [Theory]
    [InlineData("www.example.com.", "example.com")]
    [InlineData("a.b.example.co.uk.", "example.co.uk")]
    [InlineData("example.co.uk.", "example.co.uk")]
    [InlineData("co.uk.", "co.uk")]
    [InlineData("com.", "com")]
    [InlineData("WWW.Example.COM.", "example.com")]
    [InlineData("x.y.unlisted-tld.", "y.unlisted-tld")]
    [InlineData("www.d12.test.", "d12.test")]
    public void The_shipped_list_gives_the_registered_domain_of_a_name(string name, string registered) =>
        Assert.Equal(registered, PublicSuffixList.Builtin().RegisteredDomain(DnsName.Parse(name)));

    [Theory]
    [InlineData("a.b.c.wild.", "b.c.wild")] // *.wild: c.wild is a suffix
    [InlineData("c.wild.", "c.wild")]
    [InlineData("a.www.wild.", "www.wild")] // !www.wild: an exception cuts the wildcard back
    [InlineData("a.b.deep.example.", "a.b.deep.example")] // b.deep.example is a suffix
    public void Wildcard_and_exception_rules_follow_the_list_algorithm(string name, string registered)
    {
        var list = PublicSuffixList.Parse("// comment\nwild\n*.wild\n!www.wild\nexample\nb.deep.example\n");
        Assert.Equal(registered, list.RegisteredDomain(DnsName.Parse(name)));
    }

    [Fact]
    public void A_file_without_rules_is_refused_with_a_clear_error()
    {
        var e = Assert.Throws<FormatException>(() => PublicSuffixList.Parse("// only comments\n\n"));
        Assert.Contains("no rule", e.Message);
    }

    [Fact]
    public void A_configured_list_replaces_the_shipped_one()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllText(path, "com\nexample.com\n");
            var config = Server.Configuration.ConfigLoader.Apply(Server.Configuration.ConfigLoader.Defaults(), $$"""
                [cluster]
                node-id = "a"
                secret = "{{Convert.ToHexString(TestNode.Secret)}}"
                peers = [{ id = "a", address = "127.0.0.1:5390" }, { id = "b", address = "127.0.0.1:5391" }]
                public-suffix-list = "{{path}}"
                """, "test.toml");
            var options = ClusterOptions.From(config);
            Assert.Equal("www.example.com", options.Suffixes.RegisteredDomain(DnsName.Parse("a.www.example.com.")));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
