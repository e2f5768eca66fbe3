using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Server.Listeners;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Ananas.Server.Tests;

/// <summary>The HTTP side of DoH requests (RFC 8484 §4.1 and the JSON API), read before any I/O.</summary>
public class DohRequestTests
{
    private static DohRequest Read(string method, string query, bool dohPath = true, string? contentType = null, long? length = null) =>
        DohRequest.Read(method, dohPath, new QueryCollection(QueryHelpers.ParseQuery(query)), contentType, length);

    [Fact]
    public void A_get_with_base64url_dns_carries_the_query()
    {
        var wire = DnsMessage.CreateQuery(0, DnsName.Parse("example.com."), RRType.AAAA).ToArray();
        var encoded = Convert.ToBase64String(wire).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var request = Read("GET", "?dns=" + encoded);
        Assert.Equal(DohRequestKind.WireQuery, request.Kind);
        Assert.Equal(wire, request.Wire);
    }

    [Theory]
    [InlineData("GET", "?dns=a+b/", true, null, 400, "dns= is not base64url")]
    [InlineData("GET", "?dns=", true, null, 400, "dns= is not base64url")]
    [InlineData("GET", "?other=1", true, null, 400, "expected ?dns= (RFC 8484) or ?name= (JSON)")]
    [InlineData("POST", "", true, "text/plain", 415, null)]
    [InlineData("POST", "", true, null, 415, null)]
    [InlineData("POST", "", false, "application/dns-message", 405, null)]
    [InlineData("PUT", "", true, null, 405, null)]
    public void Requests_outside_rfc_8484_are_refused_with_a_client_error(string method, string query, bool dohPath, string? contentType, int status, string? why)
    {
        var request = Read(method, query, dohPath, contentType);
        Assert.Equal(DohRequestKind.Refused, request.Kind);
        Assert.Equal(status, request.StatusCode);
        Assert.Equal(why, request.Error);
    }

    [Fact]
    public void A_post_larger_than_a_dns_message_is_refused_before_reading_the_body()
    {
        var request = Read("POST", "", contentType: "application/dns-message; charset=binary", length: 65536);
        Assert.Equal(StatusCodes.Status413PayloadTooLarge, request.StatusCode);
        Assert.Equal(DohRequestKind.WireBody, Read("POST", "", contentType: "Application/DNS-Message", length: 100).Kind);
    }

    [Fact]
    public void A_json_api_get_builds_the_query_it_names()
    {
        var request = Read("GET", "?name=Example.com&type=MX&do=1&cd=true", dohPath: false);
        Assert.Equal(DohRequestKind.JsonQuery, request.Kind);
        var query = DnsMessage.Parse(request.Wire);
        Assert.Equal(DnsName.Parse("example.com."), query.Question.Name);
        Assert.Equal(RRType.MX, query.Question.Type);
        Assert.True(query.Edns!.DnssecOk);
        Assert.True(query.Has(HeaderFlags.CD));
        Assert.Equal(RRType.HTTPS, DnsMessage.Parse(Read("GET", "?name=a.&type=65").Wire).Question.Type);
    }

    [Theory]
    [InlineData("?name=bad..name", "invalid name: ")]
    [InlineData("?name=example.com&type=NOPE", "invalid type: NOPE")]
    public void A_bad_json_api_question_is_a_json_error(string query, string why)
    {
        var request = Read("GET", query, dohPath: false);
        Assert.Equal(DohRequestKind.Refused, request.Kind);
        Assert.True(request.JsonError);
        Assert.StartsWith(why, request.Error);
    }
}
