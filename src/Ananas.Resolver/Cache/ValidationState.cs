namespace Ananas.Resolver.Cache;

/// <summary>
/// DNSSEC state of cached data (RFC 4035 §4.3), set by the validator when the data is stored.
/// <see cref="Unchecked"/>: stored without validation (validation off, or fetched for a CD query); such data is
/// never answered with AD as it stands.
/// </summary>
public enum ValidationState : byte
{
    Unchecked = 0,
    Insecure,
    Secure,
    Bogus,
    Indeterminate,
}
