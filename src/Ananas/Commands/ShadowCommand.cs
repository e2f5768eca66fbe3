using System.CommandLine;
using Ananas.Server.Configuration;
using Ananas.Server.Shadow;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas shadow --log FILE --reference ADDR [--target ADDR]</c>: replays a query log (ours, or NAME TYPE lines)
/// against a running Ananas and a reference resolver and prints respdiff's kind of report. Exit 0 when every stable
/// answer agrees, 3 when some differ, 1 on an error.
/// </summary>
internal static class ShadowCommand
{
    public static Command Create()
    {
        var log = new Option<FileInfo>("--log") { Description = "Questions: our query log (JSON lines) or 'NAME [TYPE]' lines.", Required = true };
        var reference = new Option<string>("--reference") { Description = "The reference resolver, ADDR[:PORT] (port 53 by default).", Required = true };
        var target = new Option<string>("--target") { Description = "The Ananas under test, ADDR[:PORT] (default 127.0.0.1:5353).", DefaultValueFactory = _ => "127.0.0.1:5353" };
        var timeout = new Option<string>("--timeout") { Description = "Wait for one answer at most this long (default 2s).", DefaultValueFactory = _ => "2s" };
        var concurrency = new Option<int>("--concurrency") { Description = "Questions in flight at once (default 32, 1-1024).", DefaultValueFactory = _ => 32 };
        var rechecks = new Option<int>("--rechecks") { Description = "Times a disagreeing question is asked again before it counts (default 2); a changing answer drops it as unstable.", DefaultValueFactory = _ => 2 };
        var limit = new Option<int>("--limit") { Description = "Read at most this many questions (default 1,000,000).", DefaultValueFactory = _ => 1_000_000 };
        var noDo = new Option<bool>("--no-dnssec") { Description = "Ask without the DO bit (no RRSIGs in answers)." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the report as JSON to this file." };

        var command = new Command("shadow", "Replay a query log against Ananas and a reference resolver and classify every stable difference (rcode, flags, answer types, answer RRsets, EDE, timeout), as respdiff does.");
        foreach (var option in new Option[] { log, reference, target, timeout, concurrency, rechecks, limit, noDo, json }) command.Options.Add(option);
        command.SetAction(async (parse, cancellationToken) =>
        {
            static int Fail(string message)
            {
                Console.Error.WriteLine($"ananas shadow: {message}");
                return 1;
            }
            System.Net.IPEndPoint referenceEndPoint, targetEndPoint;
            try
            {
                referenceEndPoint = ConfigLoader.ParseEndPoint(parse.GetValue(reference)!, 53);
                targetEndPoint = ConfigLoader.ParseEndPoint(parse.GetValue(target)!, 5353);
            }
            catch (FormatException e)
            {
                return Fail(e.Message);
            }
            TimeSpan wait;
            try
            {
                wait = ConfigValues.ParseDuration(parse.GetValue(timeout)!);
            }
            catch (FormatException e)
            {
                return Fail($"--timeout: {e.Message}");
            }
            if (parse.GetValue(concurrency) is < 1 or > 1024) return Fail("--concurrency: between 1 and 1024");
            if (parse.GetValue(rechecks) is < 0 or > 10) return Fail("--rechecks: between 0 and 10");
            var file = parse.GetValue(log)!;
            List<Ananas.Dns.Messages.Question> questions;
            try
            {
                using var reader = file.OpenText();
                questions = QuestionSource.Read(reader, file.Name, Math.Max(1, parse.GetValue(limit)));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
            {
                return Fail(e.Message);
            }
            using var client = ShadowClient.Create(wait);
            var replay = new ShadowReplay(client, new ShadowReplayOptions(targetEndPoint, referenceEndPoint)
            {
                Concurrency = parse.GetValue(concurrency),
                Rechecks = parse.GetValue(rechecks),
                DnssecOk = !parse.GetValue(noDo),
            });
            var report = await replay.RunAsync(questions, cancellationToken);
            Console.Out.Write(report.ToText());
            if (parse.GetValue(json) is { } jsonFile) await File.WriteAllTextAsync(jsonFile.FullName, report.ToJson(), cancellationToken);
            return report.Different == 0 ? 0 : 3;
        });
        return command;
    }
}
