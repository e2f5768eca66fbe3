using System.Buffers.Binary;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Ananas.Dns.Wire;
using Ananas.Dns.Zones;

namespace Ananas.Dns.Records;

/// <summary>
/// SVCB and HTTPS RDATA (RFC 9460 §2.2): SvcPriority (0 is AliasMode), TargetName (never compressed,
/// not lowercased in canonical form since the type postdates RFC 4034 §6.2) and SvcParams kept in wire
/// form in strictly increasing key order. Each known key's value is checked against its format, so a
/// record of this class always prints as presentation text that reads back to the same octets.
/// </summary>
public sealed class SvcbData : RData
{
    private readonly SvcParam[] _params;

    public SvcbData(RRType type, ushort priority, DnsName target, IEnumerable<SvcParam> parameters)
    {
        if (type is not (RRType.SVCB or RRType.HTTPS)) throw new ArgumentException($"{type} is not SVCB or HTTPS", nameof(type));
        Type = type;
        Priority = priority;
        Target = target;
        _params = [.. parameters];
        Array.Sort(_params, (a, b) => ((ushort)a.Key).CompareTo((ushort)b.Key));
        for (int i = 0; i < _params.Length; i++)
        {
            if (i > 0 && _params[i].Key == _params[i - 1].Key)
                throw new DnsFormatException($"SvcParamKey {KeyName(_params[i].Key)} appears more than once");
            var error = CheckValue(_params[i].Key, _params[i].Value.Span);
            if (error is not null) throw new DnsFormatException($"bad {KeyName(_params[i].Key)} value: {error}");
        }
    }

    public override RRType Type { get; }

    /// <summary>0 is AliasMode; anything else is ServiceMode, lower preferred.</summary>
    public ushort Priority { get; }

    public bool IsAliasMode => Priority == 0;

    /// <summary>The alias or service host; <c>.</c> means the owner name (ServiceMode) or "no service" (AliasMode).</summary>
    public DnsName Target { get; }

    /// <summary>The parameters in increasing key order.</summary>
    public IReadOnlyList<SvcParam> Parameters => _params;

    public ReadOnlyMemory<byte>? GetValue(SvcParamKey key)
    {
        foreach (var p in _params) if (p.Key == key) return p.Value;
        return null;
    }

    public ushort? Port => GetValue(SvcParamKey.Port) is { } v ? BinaryPrimitives.ReadUInt16BigEndian(v.Span) : null;

    public bool NoDefaultAlpn => GetValue(SvcParamKey.NoDefaultAlpn) is not null;

    public IReadOnlyList<string> Alpn
    {
        get
        {
            var list = new List<string>();
            if (GetValue(SvcParamKey.Alpn) is not { } v) return list;
            var s = v.Span;
            for (int p = 0; p < s.Length; p += 1 + s[p]) list.Add(Encoding.UTF8.GetString(s.Slice(p + 1, s[p])));
            return list;
        }
    }

    public IReadOnlyList<IPAddress> Ipv4Hints => Addresses(SvcParamKey.Ipv4Hint, 4);

    public IReadOnlyList<IPAddress> Ipv6Hints => Addresses(SvcParamKey.Ipv6Hint, 16);

    private List<IPAddress> Addresses(SvcParamKey key, int size)
    {
        var list = new List<IPAddress>();
        if (GetValue(key) is not { } v) return list;
        for (int p = 0; p < v.Length; p += size) list.Add(new IPAddress(v.Span.Slice(p, size)));
        return list;
    }

    /// <summary>Null when the value fits the key's format, otherwise why not (RFC 9460 §7, §8).</summary>
    private static string? CheckValue(SvcParamKey key, ReadOnlySpan<byte> v)
    {
        switch (key)
        {
            case SvcParamKey.Mandatory:
                if (v.Length == 0 || v.Length % 2 != 0) return "must be a non-empty list of 2-octet keys";
                for (int p = 0; p < v.Length; p += 2)
                {
                    ushort k = BinaryPrimitives.ReadUInt16BigEndian(v[p..]);
                    if (k == 0) return "must not list mandatory itself";
                    if (p > 0 && k <= BinaryPrimitives.ReadUInt16BigEndian(v[(p - 2)..])) return "keys must be in strictly increasing order";
                }
                return null;
            case SvcParamKey.Alpn:
                if (v.Length == 0) return "must not be empty";
                for (int p = 0; p < v.Length; p += 1 + v[p])
                {
                    if (v[p] == 0) return "an alpn-id must not be empty";
                    if (p + 1 + v[p] > v.Length) return "alpn-id runs past the value";
                }
                return null;
            case SvcParamKey.NoDefaultAlpn or SvcParamKey.Ohttp:
                return v.Length == 0 ? null : "must be empty";
            case SvcParamKey.Port:
                return v.Length == 2 ? null : "must be 2 octets";
            case SvcParamKey.Ipv4Hint:
                return v.Length > 0 && v.Length % 4 == 0 ? null : "must be a non-empty list of IPv4 addresses";
            case SvcParamKey.Ipv6Hint:
                return v.Length > 0 && v.Length % 16 == 0 ? null : "must be a non-empty list of IPv6 addresses";
            case SvcParamKey.InvalidKey:
                return "key65535 is reserved";
            default:
                return null;
        }
    }

    public static string KeyName(SvcParamKey key) => key switch
    {
        SvcParamKey.Mandatory => "mandatory",
        SvcParamKey.Alpn => "alpn",
        SvcParamKey.NoDefaultAlpn => "no-default-alpn",
        SvcParamKey.Port => "port",
        SvcParamKey.Ipv4Hint => "ipv4hint",
        SvcParamKey.Ech => "ech",
        SvcParamKey.Ipv6Hint => "ipv6hint",
        SvcParamKey.DohPath => "dohpath",
        SvcParamKey.Ohttp => "ohttp",
        _ => "key" + ((ushort)key).ToString(CultureInfo.InvariantCulture),
    };

    public static bool TryParseKey(ReadOnlySpan<char> text, out SvcParamKey key)
    {
        for (ushort k = 0; k <= (ushort)SvcParamKey.Ohttp; k++)
        {
            if (text.Equals(KeyName((SvcParamKey)k), StringComparison.OrdinalIgnoreCase)) { key = (SvcParamKey)k; return true; }
        }
        if (text.Length is > 3 and <= 8 && text.StartsWith("key", StringComparison.OrdinalIgnoreCase) &&
            ushort.TryParse(text[3..], NumberStyles.None, CultureInfo.InvariantCulture, out ushort n))
        {
            key = (SvcParamKey)n;
            return true;
        }
        key = default;
        return false;
    }

    public override void WriteTo(ref WireWriter writer)
    {
        writer.WriteUInt16(Priority);
        writer.WriteName(Target, compressible: false, lowercaseInCanonical: false);
        foreach (var p in _params)
        {
            writer.WriteUInt16((ushort)p.Key);
            writer.WriteUInt16((ushort)p.Value.Length);
            writer.WriteBytes(p.Value.Span);
        }
    }

    public override void AppendPresentation(StringBuilder sb)
    {
        sb.Append(Priority).Append(' ');
        Target.AppendTo(sb);
        foreach (var p in _params)
        {
            sb.Append(' ').Append(KeyName(p.Key));
            var v = p.Value.Span;
            switch (p.Key)
            {
                case SvcParamKey.Mandatory:
                    sb.Append('=');
                    for (int i = 0; i < v.Length; i += 2)
                    {
                        if (i > 0) sb.Append(',');
                        sb.Append(KeyName((SvcParamKey)BinaryPrimitives.ReadUInt16BigEndian(v[i..])));
                    }
                    break;
                case SvcParamKey.Alpn:
                    sb.Append("=\"");
                    for (int i = 0; i < v.Length; i += 1 + v[i])
                    {
                        if (i > 0) sb.Append(',');
                        AppendValueListItem(sb, v.Slice(i + 1, v[i]));
                    }
                    sb.Append('"');
                    break;
                case SvcParamKey.NoDefaultAlpn or SvcParamKey.Ohttp:
                    break;
                case SvcParamKey.Port:
                    sb.Append('=').Append(BinaryPrimitives.ReadUInt16BigEndian(v));
                    break;
                case SvcParamKey.Ipv4Hint or SvcParamKey.Ipv6Hint:
                    {
                        int size = p.Key == SvcParamKey.Ipv4Hint ? 4 : 16;
                        sb.Append('=');
                        for (int i = 0; i < v.Length; i += size)
                        {
                            if (i > 0) sb.Append(',');
                            sb.Append(new IPAddress(v.Slice(i, size)).ToString());
                        }
                        break;
                    }
                case SvcParamKey.Ech:
                    if (!v.IsEmpty) sb.Append('=').Append(Convert.ToBase64String(v));
                    break;
                default:
                    if (!v.IsEmpty)
                    {
                        sb.Append('=');
                        PresentationText.AppendQuoted(sb, v);
                    }
                    break;
            }
        }
    }

    /// <summary>
    /// One item of a comma-separated value-list (RFC 9460 Appendix A.1): commas and backslashes in the item
    /// get a backslash first, then the result is escaped again as character-string text.
    /// </summary>
    private static void AppendValueListItem(StringBuilder sb, ReadOnlySpan<byte> item)
    {
        var inner = new List<byte>(item.Length + 4);
        foreach (byte b in item)
        {
            if (b is (byte)',' or (byte)'\\') inner.Add((byte)'\\');
            inner.Add(b);
        }
        PresentationText.AppendEscaped(sb, inner.ToArray());
    }

    internal static SvcbData ReadFrom(RRType type, ref WireReader reader)
    {
        ushort priority = reader.ReadUInt16();
        var target = reader.ReadName();
        var list = new List<SvcParam>();
        int last = -1;
        while (reader.Remaining > 0)
        {
            ushort key = reader.ReadUInt16();
            if (key <= last) throw new DnsFormatException($"SvcParamKey {key} out of order or repeated (keys must strictly increase)");
            int length = reader.ReadUInt16();
            list.Add(new SvcParam((SvcParamKey)key, reader.ReadBytes(length).ToArray()));
            last = key;
        }
        return new SvcbData(type, priority, target, list);
    }

    internal static SvcbData Parse(RRType type, RDataTextReader reader)
    {
        ushort priority = reader.ReadUInt16("an SvcPriority");
        var target = reader.ReadName("a TargetName");
        var list = new List<SvcParam>();
        var seen = new HashSet<SvcParamKey>();
        byte[]? mandatory = null;
        ZoneToken mandatoryToken = default;
        while (!reader.AtEnd)
        {
            var t = reader.Next("an SvcParam");
            if (t.Kind != ZoneTokenKind.Word) throw reader.Error("an SvcParam key=value", t);
            int eq = t.Text.IndexOf('=');
            string keyText = eq < 0 ? t.Text : t.Text[..eq];
            if (!TryParseKey(keyText, out var key)) throw reader.Error("an SvcParamKey", t, $"unknown key '{keyText}'");
            if (!seen.Add(key)) throw reader.Error("each SvcParamKey once", t, $"{KeyName(key)} repeated");
            byte[]? raw = null;
            if (eq >= 0)
            {
                var valueText = t.Text.AsSpan(eq + 1);
                if (valueText.Length >= 2 && valueText[0] == '"' && valueText[^1] == '"') valueText = valueText[1..^1];
                else if (valueText.Contains('"')) throw reader.Error("an SvcParamValue", t, "stray '\"'");
                if (!PresentationText.TryDecode(valueText, out raw, out var error)) throw reader.Error("an SvcParamValue", t, error);
            }
            var value = ParseValue(reader, t, key, raw);
            if (key == SvcParamKey.Mandatory) { mandatory = value; mandatoryToken = t; }
            list.Add(new SvcParam(key, value));
        }
        if (mandatory is not null)
        {
            for (int i = 0; i < mandatory.Length; i += 2)
            {
                var k = (SvcParamKey)BinaryPrimitives.ReadUInt16BigEndian(mandatory.AsSpan(i));
                if (!seen.Contains(k)) throw reader.Error("every mandatory key to be present", mandatoryToken, $"{KeyName(k)} is missing");
            }
        }
        try
        {
            return new SvcbData(type, priority, target, list);
        }
        catch (DnsFormatException e)
        {
            throw reader.Error("valid SvcParams", reader.Peek(), e.Message);
        }
    }

    private static byte[] ParseValue(RDataTextReader reader, ZoneToken t, SvcParamKey key, byte[]? raw)
    {
        string name = KeyName(key);
        if (key is SvcParamKey.NoDefaultAlpn or SvcParamKey.Ohttp)
        {
            if (raw is { Length: > 0 }) throw reader.Error($"no value for {name}", t);
            return [];
        }
        if (raw is null || (raw.Length == 0 && key is SvcParamKey.Mandatory or SvcParamKey.Alpn or SvcParamKey.Port
                or SvcParamKey.Ipv4Hint or SvcParamKey.Ipv6Hint))
        {
            if (key is SvcParamKey.Mandatory or SvcParamKey.Alpn or SvcParamKey.Port or SvcParamKey.Ipv4Hint or SvcParamKey.Ipv6Hint)
                throw reader.Error($"a value for {name}", t);
            return raw ?? [];
        }
        string text = Encoding.Latin1.GetString(raw);
        switch (key)
        {
            case SvcParamKey.Mandatory:
                {
                    var keys = new List<ushort>();
                    foreach (var part in text.Split(','))
                    {
                        if (!TryParseKey(part, out var k)) throw reader.Error("a list of SvcParamKeys", t, $"unknown key '{part}'");
                        if (k == SvcParamKey.Mandatory) throw reader.Error("mandatory not to list itself", t);
                        if (keys.Contains((ushort)k)) throw reader.Error("each mandatory key once", t, $"{KeyName(k)} repeated");
                        keys.Add((ushort)k);
                    }
                    keys.Sort();
                    var bytes = new byte[keys.Count * 2];
                    for (int i = 0; i < keys.Count; i++) BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(i * 2), keys[i]);
                    return bytes;
                }
            case SvcParamKey.Alpn:
                {
                    var output = new List<byte>();
                    foreach (var item in SplitValueList(raw))
                    {
                        if (item.Count is 0 or > 255) throw reader.Error("alpn-ids of 1 to 255 octets", t);
                        output.Add((byte)item.Count);
                        output.AddRange(item);
                    }
                    return [.. output];
                }
            case SvcParamKey.Port:
                if (ushort.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ushort port))
                    return [(byte)(port >> 8), (byte)port];
                throw reader.Error("a port number", t);
            case SvcParamKey.Ipv4Hint or SvcParamKey.Ipv6Hint:
                {
                    bool v4 = key == SvcParamKey.Ipv4Hint;
                    var output = new List<byte>();
                    foreach (var part in text.Split(','))
                    {
                        bool ok = IPAddress.TryParse(part, out var address) &&
                                  (v4 ? address.AddressFamily == AddressFamily.InterNetwork && part.Count(c => c == '.') == 3
                                      : address.AddressFamily == AddressFamily.InterNetworkV6 && !part.Contains('%'));
                        if (!ok) throw reader.Error(v4 ? "a list of IPv4 addresses" : "a list of IPv6 addresses", t, $"bad address '{part}'");
                        output.AddRange(address!.GetAddressBytes());
                    }
                    return [.. output];
                }
            case SvcParamKey.Ech:
                try
                {
                    return Convert.FromBase64String(text);
                }
                catch (FormatException)
                {
                    throw reader.Error("an ECHConfigList in base64", t);
                }
            default:
                return raw;
        }
    }

    /// <summary>Splits a value-list on commas; <c>\,</c> and <c>\\</c> stand for a literal comma and backslash (RFC 9460 Appendix A.1).</summary>
    private static List<List<byte>> SplitValueList(byte[] value)
    {
        var items = new List<List<byte>> { new() };
        for (int i = 0; i < value.Length; i++)
        {
            byte b = value[i];
            if (b == (byte)'\\' && i + 1 < value.Length) { items[^1].Add(value[++i]); continue; }
            if (b == (byte)',') { items.Add([]); continue; }
            items[^1].Add(b);
        }
        return items;
    }
}
