using Ananas.Cli.Plugins;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Zones;
using Ananas.Sandbox.Tests;
using Ananas.Server.Configuration;
using Ananas.Server.Pipeline;
using Ananas.Server.Shadow;
using Ananas.Server.Tests.Fakes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ananas.Server.Tests;

/// <summary><c>ananas shadow</c>'s engine over two in-process servers answering from the same fake authority.</summary>
public sealed class ShadowReplayTests
{
    private static FakeAuthority World() => new(
        "www.example.com. 300 A 192.0.2.80",
        "planted.example.com. 300 A 192.0.2.66",
        "flappy.example.com. 300 A 192.0.2.70",
        "mail.example.com. 300 MX 10 mx.example.com.");

    private static bool Asks(PhaseContext context, string name) => context.Query.Question.Name.Equals(DnsName.Parse(name));

    private static ValueTask<PhaseVerdict> AnswerA(PhaseContext context, string address)
    {
        var response = context.CreateResponse();
        response.Set(HeaderFlags.RA);
        response.Answers.Add(RecordText.Parse($"{context.Query.Question.Name} 60 IN A {address}", DnsName.Root));
        return new(PhaseVerdict.Answer);
    }

    private static List<Question> Questions(params string[] lines) => QuestionSource.Read(new StringReader(string.Join('\n', lines)), "questions", 100);

    [Fact]
    public async Task A_planted_difference_is_found_and_classified_as_an_answer_rrset_difference()
    {
        await using var target = new TestServer(World());
        await using var reference = new TestServer(World());
        // The target's "plugin" changes one answer: same rcode, flags and types, another address.
        target.Pipeline.SetHandlers([new DelegateHandler((_, c, _) => Asks(c, "planted.example.com") ? AnswerA(c, "192.0.2.99") : new(PhaseVerdict.Continue), Phase.Request)]);
        using var client = ShadowClient.Create(TimeSpan.FromSeconds(2));
        var replay = new ShadowReplay(client, new ShadowReplayOptions(target.Udp.LocalEndPoint, reference.Udp.LocalEndPoint) { DnssecOk = false });

        var report = await replay.RunAsync(Questions("www.example.com A", "planted.example.com A", "mail.example.com MX", "nothing.example.com AAAA"), CancellationToken.None);

        Assert.Equal(4, report.Compared);
        Assert.Equal(1, report.Different);
        Assert.Equal(1, report.ByField(Difference.AnswerRrsets));
        Assert.Equal(0, report.ByField(Difference.Rcode) + report.ByField(Difference.AnswerTypes) + report.ByField(Difference.Timeout));
        var example = Assert.Single(report.Examples(Difference.AnswerRrsets));
        Assert.Contains("planted.example.com.", example.Question);
        Assert.Contains("192.0.2.99", example.Target);
        Assert.Contains("192.0.2.66", example.Reference);
        Assert.Contains("answerrrsets", report.ToText());
    }

    [Fact]
    public async Task A_wasm_plugin_that_changes_one_answer_is_found_and_classified_as_an_answer_rrset_difference()
    {
        static FakeAuthority Rewritable() => new("www.example.com. 300 A 192.0.2.80", "www.rewrite.test. 300 A 192.0.2.5");
        await using var target = new TestServer(Rewritable());
        await using var reference = new TestServer(Rewritable());
        // guests/tests/rewrite.rs in the sandbox, as `serve` loads plugins: it rewrites A answers under rewrite.test.
        var config = ConfigLoader.Apply(ConfigLoader.Defaults(), $"""
            [[plugin]]
            name = "rewrite"
            module = "{Guests.PathOf("rewrite")}"
            """, "shadow.toml");
        await using var plugins = new PluginManager(target.Pipeline, NullLoggerFactory.Instance);
        await plugins.LoadAsync(config.Plugins);
        using var client = ShadowClient.Create(TimeSpan.FromSeconds(2));
        var replay = new ShadowReplay(client, new ShadowReplayOptions(target.Udp.LocalEndPoint, reference.Udp.LocalEndPoint) { DnssecOk = false });

        var report = await replay.RunAsync(Questions("www.example.com A", "www.rewrite.test A"), CancellationToken.None);

        Assert.Equal(2, report.Compared);
        Assert.Equal(1, report.Different);
        Assert.Equal(1, report.ByField(Difference.AnswerRrsets));
        var example = Assert.Single(report.Examples(Difference.AnswerRrsets));
        Assert.Contains("www.rewrite.test.", example.Question);
        Assert.Contains("192.0.2.99", example.Target);
        Assert.Contains("192.0.2.5", example.Reference);
    }

    [Fact]
    public async Task A_reference_whose_answer_changes_when_asked_again_is_dropped_as_unstable()
    {
        await using var target = new TestServer(World());
        await using var reference = new TestServer(World());
        int asked = 0;
        // The reference answers flappy.example.com with a new address every time (a round-robin CDN name).
        reference.Pipeline.SetHandlers([new DelegateHandler((_, c, _) => Asks(c, "flappy.example.com")
            ? AnswerA(c, $"198.51.100.{Interlocked.Increment(ref asked)}") : new(PhaseVerdict.Continue), Phase.Request)]);
        using var client = ShadowClient.Create(TimeSpan.FromSeconds(2));
        var replay = new ShadowReplay(client, new ShadowReplayOptions(target.Udp.LocalEndPoint, reference.Udp.LocalEndPoint) { DnssecOk = false, Rechecks = 2 });

        var report = await replay.RunAsync(Questions("flappy.example.com", "www.example.com"), CancellationToken.None);

        Assert.Equal(1, report.Unstable);
        Assert.Equal(0, report.Different);
        Assert.Equal(1, report.Compared);
        Assert.True(asked >= 2, "the disagreeing question was asked again");
    }

    [Fact]
    public async Task A_reference_that_does_not_answer_is_classified_as_timeout()
    {
        await using var target = new TestServer(World());
        await using var reference = new TestServer(World());
        reference.Pipeline.SetHandlers([new DelegateHandler((_, c, _) => Asks(c, "www.example.com") ? new(PhaseVerdict.Drop) : new(PhaseVerdict.Continue), Phase.Request)]);
        using var client = ShadowClient.Create(TimeSpan.FromMilliseconds(300));
        var replay = new ShadowReplay(client, new ShadowReplayOptions(target.Udp.LocalEndPoint, reference.Udp.LocalEndPoint) { DnssecOk = false, Rechecks = 1 });

        var report = await replay.RunAsync(Questions("www.example.com"), CancellationToken.None);

        Assert.Equal(1, report.ByField(Difference.Timeout));
    }

    [Fact]
    public void Query_log_lines_and_plain_lines_are_read_and_a_bad_line_is_named()
    {
        var questions = Questions(
            """{"time":"2026-11-25T02:13:07.412Z","client":"127.0.0.1:40312","transport":"udp","qname":"www.example.test.","qtype":"AAAA","rcode":"NOERROR"}""",
            """{"time":"2026-11-25T02:13:07.412Z","client":"127.0.0.1:40312","transport":"udp","rcode":"FORMERR"}""",
            "# a comment",
            "example.org MX",
            "example.net");
        Assert.Equal(["www.example.test. IN AAAA", "example.org. IN MX", "example.net. IN A"], questions.Select(q => q.ToString()));
        var error = Assert.Throws<FormatException>(() => Questions("example.org", "example.org BOGUSTYPE"));
        Assert.StartsWith("questions:2:", error.Message);
    }
}
