using System.CommandLine;

namespace Ananas.Cli;

/// <summary>Every top-level subcommand of the CLI, in the order <c>--help</c> lists them.</summary>
internal static class CommandCatalog
{
    public static IEnumerable<Command> All()
    {
        yield return VersionCommand.Create();
        yield return ZoneCommand.Create();
        yield return ResolveCommand.Create();
        yield return ServeCommand.Create();
        yield return ShadowCommand.Create();
        yield return CheckConfigCommand.Create();
        yield return AuthCommand.Create();
        yield return ApiCommand.Create();
        yield return EdgeCommand.Create();
        yield return ProbeCommand.Create();
        yield return ControlCommands.Cache();
        yield return ControlCommands.Status();
        yield return ControlCommands.Reload();
        yield return ControlCommands.Cluster();
        yield return ControlCommands.Plugin();
        yield return ScenarioCommand.Create();
    }
}
