using Ananas.Dns;

namespace Ananas.Dns.Tests;

public class DnsNameTests
{
    [Theory]
    [InlineData("example.com.", "example.com.")]
    [InlineData("example.com", "example.com.")]
    [InlineData(".", ".")]
    [InlineData("a\\.b.example.", "a\\.b.example.")]
    [InlineData("\\065bc.", "Abc.")]
    [InlineData("sp\\032ace.", "sp\\032ace.")]
    [InlineData("x\\\\y.", "x\\\\y.")]
    public void Presentation_round_trips_with_escapes(string input, string expected)
    {
        Assert.Equal(expected, DnsName.Parse(input).ToString());
    }

    [Fact]
    public void Wire_form_has_length_prefixed_labels()
    {
        var name = DnsName.Parse("www.Example.com.");
        Assert.Equal(new byte[] { 3, (byte)'w', (byte)'w', (byte)'w', 7, (byte)'E', (byte)'x', (byte)'a', (byte)'m', (byte)'p', (byte)'l', (byte)'e', 3, (byte)'c', (byte)'o', (byte)'m', 0 }, name.Wire.ToArray());
        Assert.Equal(3, name.LabelCount);
    }

    [Theory]
    [InlineData("a..b.")]
    [InlineData("..")]
    [InlineData("")]
    [InlineData("a\\256.")]
    [InlineData("a\\12.")]
    [InlineData("trailing\\")]
    public void Malformed_presentation_is_rejected(string input)
    {
        Assert.Throws<DnsFormatException>(() => DnsName.Parse(input));
    }

    [Fact]
    public void Label_and_total_length_limits_are_enforced()
    {
        string label63 = new('a', 63);
        Assert.Equal(63, DnsName.Parse(label63 + ".").GetLabel(0).Length);
        Assert.Throws<DnsFormatException>(() => DnsName.Parse(new string('a', 64) + "."));

        // 4 labels of 63 = 4*64 + 1 = 257 octets: too long. 3 of 63 plus one of 61 = 255: fits.
        string l61 = new('b', 61);
        var longest = DnsName.Parse($"{label63}.{label63}.{label63}.{l61}.");
        Assert.Equal(255, longest.WireLength);
        Assert.Throws<DnsFormatException>(() => DnsName.Parse($"{label63}.{label63}.{label63}.{label63}."));
        Assert.Throws<DnsFormatException>(() => DnsName.Parse($"{label63}.{label63}.{label63}.{l61}b."));
    }

    [Fact]
    public void Equality_and_hash_ignore_case()
    {
        var a = DnsName.Parse("WWW.Example.COM.");
        var b = DnsName.Parse("www.example.com.");
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.False(a.EqualsExactCase(b));
        Assert.NotEqual(DnsName.Parse("www.example.org."), b);
    }

    [Fact]
    public void Relative_names_are_completed_with_the_origin()
    {
        var origin = DnsName.Parse("example.com.");
        Assert.Equal("www.example.com.", DnsName.Parse("www", origin).ToString());
        Assert.Equal("www.", DnsName.Parse("www.", origin).ToString());
    }

    [Fact]
    public void Parent_ancestor_and_subdomain()
    {
        var name = DnsName.Parse("a.b.example.com.");
        Assert.Equal(DnsName.Parse("b.example.com."), name.Parent);
        Assert.Equal(DnsName.Parse("com."), name.GetAncestor(1));
        Assert.Equal(DnsName.Root, name.GetAncestor(0));
        Assert.True(name.IsSubdomainOf(DnsName.Parse("EXAMPLE.com.")));
        Assert.True(name.IsSubdomainOf(name));
        Assert.True(name.IsSubdomainOf(DnsName.Root));
        Assert.False(name.IsStrictSubdomainOf(name));
        // Label alignment: "b.example.com" is not under "xample.com".
        Assert.False(name.IsSubdomainOf(DnsName.Parse("xample.com.")));
        Assert.False(DnsName.Parse("com.").IsSubdomainOf(name));
        Assert.Throws<InvalidOperationException>(() => DnsName.Root.Parent);
    }

    [Fact]
    public void Dname_substitution_replaces_the_suffix()
    {
        var name = DnsName.Parse("www.old.example.");
        var result = name.ReplaceSuffix(DnsName.Parse("old.example."), DnsName.Parse("new.test."));
        Assert.Equal(DnsName.Parse("www.new.test."), result);
    }

    [Fact]
    public void Canonical_order_matches_rfc4034_section_6_1()
    {
        // The example list from RFC 4034 §6.1, in canonical order.
        string[] ordered =
        [
            "example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.", "zABC.a.EXAMPLE.",
            "z.example.", "\\001.z.example.", "*.z.example.", "\\200.z.example.",
        ];
        var names = ordered.Select(s => DnsName.Parse(s)).ToList();
        var shuffled = names.OrderBy(n => n.GetHashCode()).ToList();
        shuffled.Sort();
        Assert.Equal(ordered.Select(s => DnsName.Parse(s).ToString()), shuffled.Select(n => n.ToString()));
    }
}
