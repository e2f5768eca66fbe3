namespace Ananas.Resolver.Cache;

/// <summary>
/// DNSSEC state of cached data (RFC 4035 §4.3). The validator is not built yet: everything is
/// <see cref="Unchecked"/> for now; the field is here so that the cache interface need not change when it is.
/// </summary>
public enum ValidationState : byte
{
    Unchecked = 0,
    Insecure,
    Secure,
    Bogus,
    Indeterminate,
}
