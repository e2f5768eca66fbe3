using System.Buffers.Binary;

namespace Ananas.Authoritative.Store;

/// <summary>
/// Reads the MessagePack subset node values are made of (arrays, bin, nil, unsigned integers in any width the
/// format allows) straight from a span, for the answer path: no sequence reader, and a value that is not well
/// formed is a false return, never an exception. Offsets are into the span given.
/// </summary>
internal ref struct PackedValueReader(ReadOnlySpan<byte> value)
{
    private readonly ReadOnlySpan<byte> _value = value;
    private int _position;

    public readonly bool End => _position == _value.Length;

    public bool TryReadArrayHeader(out int count)
    {
        count = 0;
        if (_position >= _value.Length) return false;
        byte code = _value[_position];
        if (code is >= 0x90 and <= 0x9f)
        {
            count = code & 0x0f;
            _position++;
            return true;
        }
        int width = code switch { 0xdc => 2, 0xdd => 4, _ => 0 };
        if (width == 0 || !TryFixed(1, width, out ulong n) || n > int.MaxValue) return false;
        count = (int)n;
        return true;
    }

    /// <summary>A bin (true, with where its octets are) or nil (true, <paramref name="isNil"/>); anything else: false.</summary>
    public bool TryReadBinOrNil(out int offset, out int length, out bool isNil)
    {
        offset = length = 0;
        isNil = false;
        if (_position >= _value.Length) return false;
        byte code = _value[_position];
        if (code == 0xc0)
        {
            isNil = true;
            _position++;
            return true;
        }
        int width = code switch { 0xc4 => 1, 0xc5 => 2, 0xc6 => 4, _ => 0 };
        if (width == 0 || !TryFixed(1, width, out ulong n) || n > (ulong)(_value.Length - _position)) return false;
        offset = _position;
        length = (int)n;
        _position += length;
        return true;
    }

    /// <summary>A non-negative integer of at most <paramref name="max"/>, in any MessagePack integer encoding.</summary>
    public bool TryReadUInt(ulong max, out ulong result)
    {
        result = 0;
        if (_position >= _value.Length) return false;
        byte code = _value[_position];
        bool ok;
        if (code <= 0x7f)
        {
            result = code;
            _position++;
            ok = true;
        }
        else
        {
            ok = code switch
            {
                0xcc or 0xd0 => TryFixed(1, 1, out result),
                0xcd or 0xd1 => TryFixed(1, 2, out result),
                0xce or 0xd2 => TryFixed(1, 4, out result),
                0xcf or 0xd3 => TryFixed(1, 8, out result),
                _ => false,
            };
            // A signed encoding must hold a non-negative value.
            if (ok && code >= 0xd0 && (result & (1UL << (8 * (1 << (code - 0xd0)) - 1))) != 0) ok = false;
        }
        return ok && result <= max;
    }

    /// <summary>Skips a header of <paramref name="skip"/> octets and reads a big-endian integer of <paramref name="width"/> octets.</summary>
    private bool TryFixed(int skip, int width, out ulong result)
    {
        result = 0;
        if (_value.Length - _position < skip + width) return false;
        var bytes = _value.Slice(_position + skip, width);
        result = width switch
        {
            1 => bytes[0],
            2 => BinaryPrimitives.ReadUInt16BigEndian(bytes),
            4 => BinaryPrimitives.ReadUInt32BigEndian(bytes),
            _ => BinaryPrimitives.ReadUInt64BigEndian(bytes),
        };
        _position += skip + width;
        return true;
    }
}
