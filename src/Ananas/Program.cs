using System.CommandLine;
using Ananas.Cli;
using Ananas.Scenarios.Running;

// The `ananas` command line. Each subcommand lives in Commands/ and registers itself here.
// `ananas scenario` drives the real recursor.
ScenarioResolvers.Default = new RecursorScenarioResolverFactory();

var root = new RootCommand("Ananas: a programmable, validating DNS resolver platform.");
foreach (var command in CommandCatalog.All()) root.Subcommands.Add(command);
ManualPage.Install(root);
return await root.Parse(args).InvokeAsync();
