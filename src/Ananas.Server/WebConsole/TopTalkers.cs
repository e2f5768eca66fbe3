using Ananas.Dns.Messages;
using Ananas.Server.Hosting;

namespace Ananas.Server.WebConsole;

/// <summary>
/// The console's top names, top blocked names (answered or refused by a phase handler: the families and gateway
/// plugins) and, only when <c>console.top-clients</c> is on (off by default: client addresses are personal data),
/// top clients, from a sample of the replies (<see cref="SampledTap"/>) in bounded memory (<see cref="SpaceSavingTopK"/>).
/// </summary>
public sealed class TopTalkers : IAsyncDisposable
{
    /// <summary>Keys kept per list: top-k is exact for keys much more frequent than the 1/Capacity-th of the sample.</summary>
    public const int Capacity = 512;

    private readonly SampledTap _tap;

    public TopTalkers(double sample, bool clients)
    {
        Clients = clients ? new SpaceSavingTopK(Capacity) : null;
        Sample = sample;
        _tap = new SampledTap(sample, capacity: 4096, batch: 256, Count);
    }

    public double Sample { get; }

    public SampledTap Tap => _tap;

    public SpaceSavingTopK Names { get; } = new(Capacity);

    public SpaceSavingTopK Blocked { get; } = new(Capacity);

    /// <summary>Null unless top clients are on.</summary>
    public SpaceSavingTopK? Clients { get; }

    private void Count(ReadOnlySpan<SampledReply> batch)
    {
        foreach (var sample in batch)
        {
            if (QuestionOf(sample.Query) is { } name)
            {
                Names.Add(name);
                if (sample.ByPhase) Blocked.Add(name);
            }
            Clients?.Add(sample.Client.ToIPAddress().ToString());
        }
    }

    private static string? QuestionOf(ReadOnlySpan<byte> query)
    {
        try
        {
            var message = DnsMessage.Parse(query);
            return message.Questions.Count == 1 ? message.Question.Name.ToString().ToLowerInvariant() : null;
        }
        catch (Ananas.Dns.DnsFormatException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => _tap.DisposeAsync();
}
