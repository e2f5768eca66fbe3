using System.CommandLine;
using Ananas.Cli;

// The `ananas` command line. Each subcommand lives in Commands/ and registers itself here.
var root = new RootCommand("Ananas: a programmable, validating DNS resolver platform.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
return await root.Parse(args).InvokeAsync();
