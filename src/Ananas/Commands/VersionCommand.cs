using System.CommandLine;
using System.Reflection;

namespace Ananas.Cli;

/// <summary><c>ananas version</c>: prints the build version and runtime.</summary>
internal static class VersionCommand
{
    public static Command Create()
    {
        var command = new Command("version", "Print the Ananas version and the .NET runtime it runs on.");
        command.SetAction(_ =>
        {
            var version = typeof(VersionCommand).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
            Console.WriteLine($"ananas {version} ({System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription})");
            return 0;
        });
        return command;
    }
}
