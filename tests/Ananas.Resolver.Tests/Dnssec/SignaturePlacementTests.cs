using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;

namespace Ananas.Resolver.Tests.Dnssec;

/// <summary>RRSIGs that a server puts in another section than their RRset's still belong to it.</summary>
public sealed class SignaturePlacementTests : SignedHierarchyTests
{
    [Fact]
    public async Task An_answer_is_secure_when_its_only_good_RRSIG_is_in_the_additional_section_and_a_useless_one_in_the_answer()
    {
        // Unbound val_ta_algo_dnskey: one RRSIG with the answer, another (the one that verifies) misplaced in the
        // additional section. Every RRSIG over the RRset counts, wherever it is.
        var stranger = new Kit.Ed25519Key();
        var www = new List<ResourceRecord> { Kit.Rr("www.example. 300 IN A 192.0.2.80") };
        var useless = stranger.SignRRset(www, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300);
        var good = _exampleKey.SignRRset(www, _example.Origin, _now - 3600, _now + 86400, originalTtl: 300);
        var server = _authority.Server(ExampleAddress);
        var honest = server.Respond!;
        server.Respond = request =>
        {
            if (!request.Query.Question.Name.Equals(N("www.example.")) || request.Query.Question.Type != RRType.A) return honest(request);
            var response = request.Query.CreateResponse();
            response.Set(HeaderFlags.AA);
            response.Answers.AddRange(www);
            response.Answers.Add(new ResourceRecord(www[0].Name, RRClass.IN, 300, useless));
            response.Additional.Add(new ResourceRecord(www[0].Name, RRClass.IN, 300, good));
            return response;
        };

        var m = await Ask(Recursor(), "www.example.");

        Assert.Equal(Rcode.NoError, m.Rcode);
        Assert.True(m.Has(HeaderFlags.AD));
        Assert.Contains(m.Answers, r => r.Data is RrsigData s && s.Signature.Span.SequenceEqual(good.Signature.Span));
    }
}
