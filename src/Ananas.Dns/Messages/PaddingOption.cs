using Ananas.Dns.Wire;

namespace Ananas.Dns.Messages;

/// <summary>
/// Padding (RFC 7830): zero octets that hide the true message size on encrypted transports. Either a
/// fixed <see cref="Length"/>, or a <see cref="BlockSize"/> (RFC 8467 block-length padding) for which the
/// message writer computes the length so that the whole message becomes a multiple of the block size.
/// Receivers ignore the padding's contents, so only its length is kept.
/// </summary>
public sealed class PaddingOption : EdnsOption
{
    /// <summary>RFC 8467 §4.1 recommended block size for queries.</summary>
    public const int QueryBlockSize = 128;

    /// <summary>RFC 8467 §4.1 recommended block size for responses.</summary>
    public const int ResponseBlockSize = 468;

    public PaddingOption(int length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, ushort.MaxValue);
        Length = length;
    }

    private PaddingOption(int length, int blockSize) : this(length) => BlockSize = blockSize;

    /// <summary>Padding that the writer sizes so that the message is a multiple of <paramref name="blockSize"/> octets.</summary>
    public static PaddingOption ToBlockSize(int blockSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(blockSize, ushort.MaxValue);
        return new PaddingOption(0, blockSize);
    }

    public override EdnsOptionCode Code => EdnsOptionCode.Padding;

    /// <summary>The padding length (for block padding: 0 until written; see <see cref="PaddingFor"/>).</summary>
    public int Length { get; }

    /// <summary>0 for fixed-length padding; otherwise the RFC 8467 block size.</summary>
    public int BlockSize { get; }

    public override int DataLength => Length;

    public override void WriteData(ref WireWriter writer) => writer.WriteZeros(Length);

    /// <summary>
    /// The padding length for a message of <paramref name="unpaddedLength"/> octets (counting this option's
    /// 4-octet header but no padding) that may grow to <paramref name="limit"/>. When a full block does not
    /// fit, the padding stops at the limit (RFC 8467 §4.1: never exceed the maximum size).
    /// </summary>
    public int PaddingFor(int unpaddedLength, int limit)
    {
        if (BlockSize == 0) return Length;
        int pad = (BlockSize - unpaddedLength % BlockSize) % BlockSize;
        return Math.Clamp(Math.Min(pad, limit - unpaddedLength), 0, ushort.MaxValue);
    }

    internal static PaddingOption Read(ReadOnlySpan<byte> data) => new(data.Length);

    public override string ToString() => BlockSize == 0 ? $"PADDING: {Length} octets" : $"PADDING: to a multiple of {BlockSize}";
}
