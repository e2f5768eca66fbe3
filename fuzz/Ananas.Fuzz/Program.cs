using Ananas.Fuzz;
using SharpFuzz;

// Ananas.Fuzz TARGET             run TARGET under afl-fuzz (persistent mode: one process, many inputs)
// Ananas.Fuzz seed TARGET DIR    write TARGET's seed corpus, built from the repository's test data, into DIR
// Ananas.Fuzz replay TARGET FILE...  run TARGET once per file and print what escaped (crash triage)
if (args.Length == 0 || (args[0] is "seed" or "replay" && args.Length < 3))
{
    Console.Error.WriteLine($"usage: Ananas.Fuzz TARGET | seed TARGET DIR | replay TARGET FILE...\ntargets: {string.Join(", ", Targets.Names)}");
    return 2;
}
string name = args[0] is "seed" or "replay" ? args[1] : args[0];
if (!Targets.TryGet(name, out var target))
{
    Console.Error.WriteLine($"unknown target '{name}'; targets: {string.Join(", ", Targets.Names)}");
    return 2;
}
switch (args[0])
{
    case "seed":
        int written = Seeds.Write(name, Path.GetFullPath(args[2]));
        Console.WriteLine($"{name}: {written} seeds in {args[2]}");
        return written > 0 ? 0 : 1;
    case "replay":
        int failed = 0;
        foreach (var file in args.Skip(2))
        {
            try
            {
                target(File.ReadAllBytes(file));
                Console.WriteLine($"{file}: ok");
            }
            catch (Exception e)
            {
                failed++;
                Console.WriteLine($"{file}: {e.GetType().FullName}: {e.Message}\n{e.StackTrace}");
            }
        }
        return failed == 0 ? 0 : 1;
    default:
        // One buffer for every input: the target sees exactly the bytes afl-fuzz wrote.
        var buffer = new byte[1 << 20];
        Fuzzer.Run(stream =>
        {
            int length = 0, n;
            while (length < buffer.Length && (n = stream.Read(buffer, length, buffer.Length - length)) > 0) length += n;
            target(buffer.AsSpan(0, length));
        });
        return 0;
}
