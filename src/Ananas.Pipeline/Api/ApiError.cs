namespace Ananas.Pipeline.Api;

/// <summary>One entry of a v4 envelope's <c>errors</c>: a stable code, a message, the request field at fault (if one is).</summary>
public sealed record ApiError(int Code, string Message, string? Field = null);

/// <summary>What a request failed with: the HTTP status and the errors reported in the envelope.</summary>
public sealed class ApiFailure(int status, IReadOnlyList<ApiError> errors)
{
    public int Status { get; } = status;

    public IReadOnlyList<ApiError> Errors { get; } = errors;

    public ApiFailure(int status, int code, string message, string? field = null) : this(status, [new ApiError(code, message, field)]) { }
}

/// <summary>The error codes of the API (docs/PIPELINE.md lists them); a code never changes meaning.</summary>
public static class ErrorCodes
{
    public const int InvalidRequest = 1001;          // body is not the JSON object expected, or a query parameter is bad
    public const int BodyTooLarge = 1002;
    public const int InvalidZoneName = 1049;
    public const int ZoneExists = 1061;
    public const int ZoneCheck = 1004;               // the change would break a `zone check` rule
    public const int NameOutsideZone = 1005;
    public const int InvalidName = 1006;
    public const int InvalidType = 1007;
    public const int InvalidTtl = 1008;
    public const int InvalidContent = 9005;          // RDATA that does not parse for its type
    public const int ZoneNotFound = 7003;
    public const int RecordNotFound = 81044;
    public const int CnameConflict = 81053;
    public const int DuplicateRecord = 81058;
    public const int TooManyRecords = 1010;
    public const int ImportInvalid = 81059;          // the uploaded zone text does not parse
    public const int NotAuthenticated = 10000;
    public const int NotPermitted = 10001;
    public const int NotFound = 7000;                // no such route
    public const int Unavailable = 1100;             // the database failed; nothing was stored
}
