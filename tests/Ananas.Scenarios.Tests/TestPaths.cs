namespace Ananas.Scenarios.Tests;

/// <summary>Finds the repository root (the folder with Ananas.slnx) from the test assembly's folder.</summary>
internal static class TestPaths
{
    public static string RepoRoot { get; } = FindRoot();

    public static string OwnScenarios => Path.Combine(RepoRoot, "tests", "scenarios");

    /// <summary>The shared peer corpus, beside the repository (present in CI; maybe absent elsewhere).</summary>
    public static string Corpus => Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared", "corpus"));

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Ananas.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Ananas.slnx) not found above " + AppContext.BaseDirectory);
    }
}
