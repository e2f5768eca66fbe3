namespace Ananas.Scenarios.Running;

/// <summary>Features a resolver under test has; scenarios needing a missing one are skipped with a reason.</summary>
[Flags]
public enum ScenarioCapabilities
{
    None = 0,
    DnssecValidation = 1,
    ServeStale = 2,
    Forwarding = 4,
    StubZones = 8,
    NegativeTrustAnchors = 16,
    All = DnssecValidation | ServeStale | Forwarding | StubZones | NegativeTrustAnchors,
}
