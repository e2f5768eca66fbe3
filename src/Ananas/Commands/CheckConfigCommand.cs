using System.CommandLine;
using Ananas.Server.Configuration;
using Ananas.Server.Hosting;

namespace Ananas.Cli;

/// <summary>
/// <c>ananas check-config FILE</c>: loads a configuration as <c>serve</c> would (every key, range, and the files it
/// names: root hints, trust anchors) without starting anything. Exit 0 when it would start, 1 with the errors.
/// </summary>
internal static class CheckConfigCommand
{
    public static Command Create()
    {
        var file = new Argument<FileInfo?>("file") { Description = "The TOML file to check (keys in docs/SERVER.md).", Arity = ArgumentArity.ZeroOrOne };
        var printDefaults = new Option<bool>("--print-defaults") { Description = "Print the defaults as a TOML file (src/Ananas.Server/Configuration/defaults.toml)." };
        var printTable = new Option<bool>("--print-key-table") { Description = "Print the key table of docs/SERVER.md (Markdown)." };
        var command = new Command("check-config", "Check a configuration file for `ananas serve` without starting the server.");
        command.Arguments.Add(file);
        command.Options.Add(printDefaults);
        command.Options.Add(printTable);
        command.SetAction(parse =>
        {
            if (parse.GetValue(printDefaults))
            {
                Console.Write(ConfigDocument.DefaultsToml());
                return 0;
            }
            if (parse.GetValue(printTable))
            {
                Console.Write(ConfigDocument.KeyTable());
                return 0;
            }
            if (parse.GetValue(file) is not { } path)
            {
                Console.Error.WriteLine("ananas check-config: give a FILE (or --print-defaults, --print-key-table)");
                return 1;
            }
            return Check(path.FullName, Console.Out, Console.Error);
        });
        return command;
    }

    /// <summary>0 and "FILE: ok" when <paramref name="path"/> would start a server; 1 and the errors otherwise.</summary>
    internal static int Check(string path, TextWriter output, TextWriter error)
    {
        try
        {
            ResolverStackBuilder.Check(ConfigLoader.LoadFile(path));
        }
        catch (ConfigException e)
        {
            error.WriteLine($"ananas check-config: {e.Message}");
            return 1;
        }
        output.WriteLine($"{Path.GetFileName(path)}: ok");
        return 0;
    }
}
