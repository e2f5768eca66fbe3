namespace Ananas.Dns.Wire;

/// <summary>Why a wire-format name could not be read (the non-throwing counterpart of <see cref="DnsFormatException"/>).</summary>
public enum NameError : byte
{
    None,

    /// <summary>The name (a length octet or the root label) runs past the end of the message or scope.</summary>
    PastEnd,

    /// <summary>A label's octets run past the end of the message or scope.</summary>
    LabelPastEnd,

    /// <summary>The decompressed name exceeds 255 octets.</summary>
    TooLong,

    /// <summary>The second octet of a compression pointer is missing.</summary>
    PointerPastEnd,

    /// <summary>A compression pointer does not point strictly backwards (loop or forward reference).</summary>
    PointerNotBackwards,

    /// <summary>The name follows more than <see cref="WireReader.MaxPointers"/> compression pointers.</summary>
    TooManyPointers,

    /// <summary>A label type other than a normal label or a pointer (0x40 and 0x80, RFC 6891 §5).</summary>
    BadLabelType,

    /// <summary>The destination buffer is shorter than 255 octets.</summary>
    BufferTooSmall,
}
