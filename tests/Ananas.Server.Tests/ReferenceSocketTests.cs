using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Ananas.Dns;
using Ananas.Dns.Messages;
using Ananas.Dns.Records;
using Ananas.Dns.Zones;
using Ananas.Server.Shadow;
using Ananas.Server.Tests.Fakes;

namespace Ananas.Server.Tests;

/// <summary>Live shadow mode's batch of questions to the reference: asked at once over one socket, answers matched by ID and question.</summary>
public sealed class ReferenceSocketTests
{
    private static MirroredQuestion Ask(string name, RRType type = RRType.A) => new(new Question(DnsName.Parse(name), type), false, false);

    [Fact]
    public async Task A_batch_of_questions_is_asked_at_once_and_each_answer_goes_to_its_own_question()
    {
        await using var reference = new TestServer(new FakeAuthority(
            "www.example.com. 300 A 192.0.2.80",
            "other.example.com. 300 A 192.0.2.81",
            "planted.example.com. 300 A 192.0.2.66"));
        using var socket = new ReferenceSocket(reference.Udp.LocalEndPoint, TimeSpan.FromSeconds(5));
        MirroredQuestion[] questions = [Ask("www.example.com"), Ask("planted.example.com"), Ask("missing.example.com"), Ask("other.example.com")];
        var answers = new DnsMessage?[questions.Length];

        socket.AskAll(questions, answers);
        socket.AskAll(questions, answers);

        Assert.Equal("192.0.2.80", AddressOf(answers[0]));
        Assert.Equal("192.0.2.66", AddressOf(answers[1]));
        Assert.Equal(Rcode.NXDomain, answers[2]!.Rcode);
        Assert.Equal("192.0.2.81", AddressOf(answers[3]));
        Assert.Equal(1, socket.Opened); // every question answered: the socket is kept for the next batch
    }

    [Fact]
    public void A_reference_that_never_answers_leaves_the_batch_unanswered_at_the_timeout_and_the_next_batch_gets_a_new_socket()
    {
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        using var socket = new ReferenceSocket((IPEndPoint)silent.LocalEndPoint!, TimeSpan.FromMilliseconds(200));
        var answers = new DnsMessage?[2];

        var clock = Stopwatch.StartNew();
        socket.AskAll([Ask("www.example.com"), Ask("other.example.com")], answers);
        clock.Stop();
        socket.AskAll([Ask("www.example.com")], answers);

        Assert.All(answers, Assert.Null);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(3));
        Assert.Equal(2, socket.Opened);
    }

    [Fact]
    public void A_reference_with_nothing_listening_fails_the_batch_at_once_instead_of_waiting_for_the_timeout()
    {
        IPEndPoint closed;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            closed = (IPEndPoint)probe.LocalEndPoint!;
        }
        using var socket = new ReferenceSocket(closed, TimeSpan.FromSeconds(10));
        var answers = new DnsMessage?[2];

        var clock = Stopwatch.StartNew();
        socket.AskAll([Ask("www.example.com"), Ask("other.example.com")], answers);

        Assert.All(answers, Assert.Null);
        Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_reply_under_a_questions_id_that_answers_another_question_is_not_taken()
    {
        using var forger = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        forger.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        // Answers the one query twice under its ID: first for another name, then for the name asked.
        var answering = Task.Run(async () =>
        {
            var buffer = new byte[512];
            var received = await forger.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0)).WaitAsync(TimeSpan.FromSeconds(5));
            var query = DnsMessage.Parse(buffer.AsSpan(0, received.ReceivedBytes));
            var forged = DnsMessage.CreateQuery(query.Id, DnsName.Parse("elsewhere.example.com"), RRType.A).CreateResponse();
            forged.Answers.Add(RecordText.Parse("elsewhere.example.com. 60 IN A 192.0.2.13", DnsName.Root));
            var genuine = query.CreateResponse();
            genuine.Answers.Add(RecordText.Parse("www.example.com. 60 IN A 192.0.2.80", DnsName.Root));
            await forger.SendToAsync(forged.ToArray(), received.RemoteEndPoint);
            await forger.SendToAsync(genuine.ToArray(), received.RemoteEndPoint);
        });
        using var socket = new ReferenceSocket((IPEndPoint)forger.LocalEndPoint!, TimeSpan.FromSeconds(5));
        var answers = new DnsMessage?[1];

        socket.AskAll([Ask("www.example.com")], answers);
        await answering;

        Assert.Equal("192.0.2.80", AddressOf(answers[0]));
    }

    private static string? AddressOf(DnsMessage? answer) =>
        answer?.Answers.Select(r => r.Data).OfType<AddressData>().Select(a => a.Address.ToString()).SingleOrDefault();
}
