namespace Ananas.Server.Frames;

/// <summary>How a frame reached us. Only the reply encoding (size limit, truncation) depends on it.</summary>
public enum Transport : byte
{
    Udp,
    Tcp,
    Tls,
    Https,
}
