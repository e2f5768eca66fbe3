namespace Ananas.Scenarios.Running;

/// <summary>
/// The single registration point for the resolver the CLI's <c>ananas scenario</c> drives. The recursor
/// binding sets <see cref="Default"/> at startup; until then running scenarios reports that none is bound.
/// </summary>
public static class ScenarioResolvers
{
    public static IScenarioResolverFactory? Default { get; set; }

    /// <summary>The bound factory, or a clear error when nothing is bound yet.</summary>
    public static IScenarioResolverFactory GetDefault() =>
        Default ?? throw new InvalidOperationException(
            "no resolver is bound to the scenario runner (ScenarioResolvers.Default is not set; the recursor binding sets it)");
}
