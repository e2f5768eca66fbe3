using System.CommandLine;
using Ananas.Authoritative.Signing;
using Ananas.Authoritative.Store;
using Ananas.Dns;
using Ananas.Dns.Records;
using Ananas.Resolver.Dnssec;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas auth keygen|ds|keyremove</c>: a zone's signing keys in the edge store (docs/AUTHORITATIVE.md,
/// "Online signing"). A zone with a key is signed by every server of the store from the next generation on.
/// </summary>
internal static class AuthKeyCommands
{
    public static IEnumerable<Command> Create() => [CreateKeygen(), CreateDs(), CreateRemove()];

    private static Command CreateKeygen()
    {
        var zone = new Argument<string>("ZONE") { Description = "The zone's name (already imported)." };
        var store = new Option<DirectoryInfo>("--store") { Description = "The edge store's directory.", Required = true };
        var algorithm = new Option<string>("--algorithm") { Description = "13 (ECDSAP256SHA256, the default) or 15 (ED25519).", DefaultValueFactory = _ => "13" };
        var command = new Command("keygen",
            "Make a signing key for a zone and keep it in the store: the zone is signed online from then on (DNSKEY at the apex, " +
            "RRSIGs and compact denial for DO queries). Prints the DNSKEY and the DS records to give to the parent zone. " +
            "The store then holds a private key: its directory is made readable by its owner only.");
        command.Arguments.Add(zone);
        command.Options.Add(store);
        command.Options.Add(algorithm);
        command.SetAction(parse =>
        {
            if (!AuthCommand.TryParseName(parse.GetValue(zone)!, "ZONE", out var apex)) return 1;
            if (!TryParseAlgorithm(parse.GetValue(algorithm)!, out byte number)) return 1;
            var path = parse.GetValue(store)!.FullName;
            if (!Directory.Exists(path))
            {
                Console.Error.WriteLine($"ananas auth keygen: no store at {path}: import the zone first");
                return 1;
            }
            using var edge = AuthCommand.OpenStore(path);
            if (edge is null) return 1;
            try
            {
                if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                var key = KeyTable.Generate(edge, apex!, number, DateTimeOffset.UtcNow);
                Print(apex!, [key]);
                return 0;
            }
            catch (KeyTableException e)
            {
                Console.Error.WriteLine($"ananas auth keygen: {e.Message}");
                return 1;
            }
        });
        return command;
    }

    private static Command CreateDs()
    {
        var zone = new Argument<string>("ZONE") { Description = "The zone's name." };
        var store = new Option<DirectoryInfo>("--store") { Description = "The edge store's directory.", Required = true };
        var command = new Command("ds", "Print a signed zone's DNSKEY records and their DS records (SHA-256, and SHA-384) for the parent zone.");
        command.Arguments.Add(zone);
        command.Options.Add(store);
        command.SetAction(parse =>
        {
            if (!AuthCommand.TryParseName(parse.GetValue(zone)!, "ZONE", out var apex)) return 1;
            using var edge = AuthCommand.OpenStore(parse.GetValue(store)!.FullName);
            if (edge is null) return 1;
            var keys = KeyTable.Read(edge, apex!);
            if (keys.Count == 0)
            {
                Console.Error.WriteLine($"ananas auth ds: zone {apex} has no keys (ananas auth keygen {apex} --store DIR makes one)");
                return 1;
            }
            Print(apex!, keys, DsMatcher.Sha384);
            return 0;
        });
        return command;
    }

    private static Command CreateRemove()
    {
        var zone = new Argument<string>("ZONE") { Description = "The zone's name." };
        var store = new Option<DirectoryInfo>("--store") { Description = "The edge store's directory.", Required = true };
        var tag = new Option<ushort>("--key-tag") { Description = "The key tag of the key to remove (see `ananas auth ds`).", Required = true };
        var command = new Command("keyremove", "Remove a signing key from a zone; without keys the zone is served unsigned (remove its DS from the parent first).");
        command.Arguments.Add(zone);
        command.Options.Add(store);
        command.Options.Add(tag);
        command.SetAction(parse =>
        {
            if (!AuthCommand.TryParseName(parse.GetValue(zone)!, "ZONE", out var apex)) return 1;
            using var edge = AuthCommand.OpenStore(parse.GetValue(store)!.FullName);
            if (edge is null) return 1;
            if (KeyTable.Remove(edge, apex!, parse.GetValue(tag))) return 0;
            Console.Error.WriteLine($"ananas auth keyremove: zone {apex} has no key with tag {parse.GetValue(tag)}");
            return 1;
        });
        return command;
    }

    private static void Print(DnsName apex, IReadOnlyList<SigningKey> keys, byte extraDigest = 0)
    {
        foreach (var key in keys)
            Console.WriteLine($"{apex} 3600 IN DNSKEY {key.Dnskey} ; key tag {key.KeyTag}, algorithm {key.Algorithm}");
        foreach (var key in keys)
        {
            foreach (byte digestType in extraDigest == 0 ? [DsMatcher.Sha256] : new[] { DsMatcher.Sha256, extraDigest })
            {
                var digest = DsMatcher.ComputeDigest(apex, key.Dnskey, digestType)!;
                Console.WriteLine($"{apex} 3600 IN DS {new DsData(key.KeyTag, key.Algorithm, digestType, digest)}");
            }
        }
    }

    private static bool TryParseAlgorithm(string text, out byte number)
    {
        number = text.ToUpperInvariant() switch
        {
            "13" or "ECDSAP256SHA256" => SigningKey.EcdsaP256Sha256,
            "15" or "ED25519" => SigningKey.Ed25519,
            _ => 0,
        };
        if (number != 0) return true;
        Console.Error.WriteLine($"ananas auth keygen: --algorithm {text} is not supported: 13 (ECDSAP256SHA256) or 15 (ED25519)");
        return false;
    }
}
