using System.Runtime.CompilerServices;

namespace Ananas.Server.Tests.Fakes;

/// <summary>
/// Servers started by these tests keep their state (the control API's token file) in a directory of this test run,
/// never in the user's ~/.local/state; the ananas commands the tests run find it there by the same default.
/// </summary>
internal static class TestStateDirectory
{
    public static string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ananas-state-{Environment.ProcessId}-{Guid.NewGuid():N}");

    [ModuleInitializer]
    internal static void Use() => Environment.SetEnvironmentVariable("ANANAS_STATE_DIR", Path);
}
