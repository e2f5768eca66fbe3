namespace Ananas.Server.Configuration;

/// <summary>A configuration file or flag is wrong. The message names the source, line and key.</summary>
public sealed class ConfigException(string message) : Exception(message);
