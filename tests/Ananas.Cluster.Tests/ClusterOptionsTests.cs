using Ananas.Server.Configuration;

namespace Ananas.Cluster.Tests;

/// <summary>[cluster] from the configuration file: on only when asked for, and clear errors for what is missing.</summary>
public sealed class ClusterOptionsTests
{
    private static ServerConfig Load(string toml) => ConfigLoader.Apply(ConfigLoader.Defaults(), toml, "test.toml");

    private static readonly string Secret = Convert.ToHexString(TestNode.Secret);

    [Fact]
    public void Sharing_is_off_by_default_and_with_only_this_node_listed()
    {
        Assert.False(ClusterOptions.Enabled(ConfigLoader.Defaults()));
        Assert.False(ClusterOptions.Enabled(Load("""
            [cluster]
            node-id = "a"
            peers = [{ id = "a", address = "127.0.0.1:5390" }]
            """)));
    }

    [Fact]
    public void Peers_secret_and_bounds_reach_the_options()
    {
        var config = Load($$"""
            [cluster]
            node-id = "b"
            secret = "{{Secret}}"
            peers = [{ id = "a", address = "10.0.0.1:5390" }, { id = "b", address = "[2001:db8::2]:5390" }]
            replicas = 3
            budget = "20ms"
            max-in-flight-per-peer = 100
            """);
        Assert.True(ClusterOptions.Enabled(config));
        var options = ClusterOptions.From(config);
        Assert.Equal("b", options.NodeId);
        Assert.Equal(System.Net.IPEndPoint.Parse("[2001:db8::2]:5390"), options.Listen);
        Assert.Equal(TestNode.Secret, options.Secret);
        Assert.Equal(3, options.Replicas);
        Assert.Equal(TimeSpan.FromMilliseconds(20), options.Budget);
        Assert.Equal(100, options.MaxInFlightPerPeer);
    }

    [Fact]
    public void Sharing_without_a_secret_is_refused_naming_the_key()
    {
        var config = Load("""
            [cluster]
            node-id = "a"
            peers = [{ id = "a", address = "127.0.0.1:5390" }, { id = "b", address = "127.0.0.1:5391" }]
            """);
        Assert.Contains("cluster.secret", Assert.Throws<ConfigException>(() => ClusterOptions.From(config)).Message);
    }

    [Fact]
    public void A_node_missing_from_its_own_peer_list_without_a_listen_address_is_refused()
    {
        var config = Load($$"""
            [cluster]
            node-id = "c"
            secret = "{{Secret}}"
            peers = [{ id = "a", address = "127.0.0.1:5390" }, { id = "b", address = "127.0.0.1:5391" }]
            """);
        Assert.Contains("cluster.listen", Assert.Throws<ConfigException>(() => ClusterOptions.From(config)).Message);
    }

    [Theory]
    [InlineData("""peers = [{ id = "a" }]""", "address: missing")]
    [InlineData("""peers = [{ id = "a", address = "10.0.0.1" }]""", "not ADDR:PORT")]
    [InlineData("""peers = [{ id = "a", address = "10.0.0.1:1" }, { id = "a", address = "10.0.0.2:1" }]""", "appears twice")]
    [InlineData("""peers = [{ id = "a", address = "10.0.0.1:1", port = 3 }]""", "unknown key")]
    [InlineData("""secret = "abcd" """, "64 hex digits")]
    public void A_bad_cluster_value_is_an_error_naming_the_file_line_and_key(string line, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Load("[cluster]\n" + line));
        Assert.Contains("test.toml:2", e.Message);
        Assert.Contains("cluster.", e.Message);
        Assert.Contains(message, e.Message);
    }
}
