using System.Security.Cryptography;
using System.Text;
using Ananas.Server.Configuration;

namespace Ananas.Server.Listeners;

/// <summary>
/// The control API's bearer token: 32 random octets (base64url), generated at the server's first start into a file
/// only its owner can read (mode 0600, in a 0700 directory), and read from that file by the <c>ananas</c> commands
/// that call the API. Whoever can read the file may control the server; nobody else can.
/// </summary>
public static class ControlToken
{
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode OwnerOnlyDirectory = OwnerOnly | UnixFileMode.UserExecute;

    /// <summary>
    /// Where the server and the commands look when <c>control.token-file</c> is not set: <c>$ANANAS_STATE_DIR</c>, else
    /// <c>$XDG_STATE_HOME/ananas</c>, else <c>~/.local/state/ananas</c>; the file <c>control.token</c> there.
    /// </summary>
    public static string DefaultPath()
    {
        string? directory = Environment.GetEnvironmentVariable("ANANAS_STATE_DIR");
        if (string.IsNullOrEmpty(directory))
        {
            string? xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            directory = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state", "ananas")
                : Path.Combine(xdg, "ananas");
        }
        return Path.Combine(directory, "control.token");
    }

    /// <summary>The configured path, or <see cref="DefaultPath"/> when empty.</summary>
    public static string PathFor(string configured) => configured.Length > 0 ? Path.GetFullPath(configured) : DefaultPath();

    /// <summary>
    /// The token in <paramref name="path"/>, creating the file (and its directory) first if it does not exist. A file
    /// that others can read or write, or that is empty, is a <see cref="ConfigException"/>: the token would not be secret.
    /// </summary>
    public static string LoadOrCreate(string path)
    {
        try
        {
            if (!File.Exists(path)) Create(path);
            if (!OperatingSystem.IsWindows())
            {
                var mode = File.GetUnixFileMode(path);
                if ((mode & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
                    throw new ConfigException($"control.token-file: '{path}' can be read or written by others (mode {Convert.ToString((int)mode, 8)}); run chmod 600 on it");
            }
            string token = File.ReadAllText(path).Trim();
            if (!IsWellFormed(token)) throw new ConfigException($"control.token-file: '{path}' holds no token (16 to 64 letters, digits, '-' or '_'); delete it to have a new one generated");
            return token;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"control.token-file: cannot use '{path}': {e.Message}");
        }
    }

    /// <summary>Reads the token for a client (the <c>ananas</c> commands); null with the reason when it cannot.</summary>
    public static string? Read(string path, out string error)
    {
        error = "";
        try
        {
            string token = File.ReadAllText(path).Trim();
            if (IsWellFormed(token)) return token;
            error = $"'{path}' does not hold a control token (16 to 64 letters, digits, '-' or '_')";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read the control token at '{path}': {e.Message}";
        }
        return null;
    }

    /// <summary>What we generate (base64url) and accept from a file someone else wrote: no spaces, line breaks or header syntax.</summary>
    private static bool IsWellFormed(string token)
    {
        if (token.Length is < 16 or > 64) return false;
        foreach (char c in token)
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_') return false;
        return true;
    }

    /// <summary>Whether <paramref name="presented"/> is the token (constant time: the comparison leaks no prefix).</summary>
    public static bool Matches(string token, ReadOnlySpan<char> presented)
    {
        Span<byte> expected = stackalloc byte[64];
        Span<byte> given = stackalloc byte[64];
        if (presented.Length > 64 || token.Length > 64) return false;
        int a = Encoding.ASCII.GetBytes(token, expected);
        int b = Encoding.ASCII.GetBytes(presented, given);
        return a == b & CryptographicOperations.FixedTimeEquals(expected, given);
    }

    private static void Create(string path)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, OwnerOnlyDirectory);
        }
        string token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
        try
        {
            using var writer = new StreamWriter(path, Encoding.ASCII, options);
            writer.WriteLine(token);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another server process created it first: use that one.
        }
    }
}
