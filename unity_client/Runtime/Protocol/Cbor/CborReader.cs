using System;
using System.Collections.Generic;
using System.Numerics;
using System.Text;

namespace AvatarDriver.Protocol.Cbor
{
    /// <summary>
    /// A CBOR (RFC 8949) decoder to plain .NET values. Every data item kind is handled:
    /// unsigned and negative integers of every width (long, or ulong / BigInteger beyond it),
    /// byte and text strings (definite and indefinite length), arrays and maps (definite and
    /// indefinite), tags (<see cref="CborTag"/>; 2/3 bignums become BigInteger), float16/32/64
    /// (as double), false/true/null/undefined and other simple values (<see cref="CborSimple"/>).
    /// Maps keep their order (<see cref="CborMap"/>). Malformed input raises <see cref="CborException"/>.
    /// </summary>
    public sealed class CborReader
    {
        const int MaxDepth = 64;
        readonly byte[] _data;
        int _pos;

        public CborReader(byte[] data)
        {
            _data = data ?? throw new ArgumentNullException(nameof(data));
        }

        /// <summary>Decodes exactly one data item that fills the whole buffer.</summary>
        public static object Decode(byte[] data)
        {
            var reader = new CborReader(data);
            var value = reader.ReadItem(0);
            if (reader._pos != data.Length)
                throw new CborException($"{data.Length - reader._pos} bytes after the data item");
            return value;
        }

        static readonly object Break = new object();

        object ReadItem(int depth)
        {
            var item = ReadOrBreak(depth);
            if (ReferenceEquals(item, Break)) throw new CborException($"unexpected break at {_pos - 1}");
            return item;
        }

        object ReadOrBreak(int depth)
        {
            if (depth > MaxDepth) throw new CborException("nesting deeper than " + MaxDepth);
            byte initial = Next();
            int major = initial >> 5, info = initial & 0x1f;
            if (major == 7) return ReadSimpleOrFloat(info);
            if (info == 31)
            {
                switch (major)
                {
                    case 2: return ReadIndefiniteBytes();
                    case 3: return Encoding.UTF8.GetString(ReadIndefiniteBytes());
                    case 4:
                        var items = new List<object>();
                        for (var x = ReadOrBreak(depth + 1); !ReferenceEquals(x, Break); x = ReadOrBreak(depth + 1))
                            items.Add(x);
                        return items;
                    case 5:
                        var map = new CborMap();
                        for (var k = ReadOrBreak(depth + 1); !ReferenceEquals(k, Break); k = ReadOrBreak(depth + 1))
                            map.Add(k, ReadItem(depth + 1));
                        return map;
                    default: throw new CborException($"indefinite length is not allowed for major type {major}");
                }
            }
            ulong arg = ReadArgument(info);
            switch (major)
            {
                case 0: return arg <= long.MaxValue ? (object)(long)arg : arg;
                case 1: return arg < long.MaxValue ? (object)(-1L - (long)arg) : -BigInteger.One - arg;
                case 2: return Take(Length(arg));
                case 3: return Encoding.UTF8.GetString(Take(Length(arg)));
                case 4:
                    var list = new List<object>(Math.Min(Length(arg), 1024));
                    for (ulong i = 0; i < arg; i++) list.Add(ReadItem(depth + 1));
                    return list;
                case 5:
                    var m = new CborMap();
                    for (ulong i = 0; i < arg; i++) m.Add(ReadItem(depth + 1), ReadItem(depth + 1));
                    return m;
                default: // 6: tag
                    var content = ReadItem(depth + 1);
                    var magnitude = content as byte[];
                    if ((arg == 2 || arg == 3) && magnitude != null)
                    {
                        var big = UnsignedBigEndian(magnitude);
                        return arg == 2 ? big : -BigInteger.One - big;
                    }
                    return new CborTag(arg, content);
            }
        }

        object ReadSimpleOrFloat(int info)
        {
            switch (info)
            {
                case 20: return false;
                case 21: return true;
                case 22: return null;
                case 23: return CborSimple.Undefined;
                case 24:
                    byte v = Next();
                    if (v < 32) throw new CborException($"simple value {v} must use the one-byte form");
                    return new CborSimple(v);
                case 25: return HalfToDouble((ushort)ReadArgument(25));
                case 26: return (double)BitConverter.ToSingle(BitConverter.GetBytes((uint)ReadArgument(26)), 0);
                case 27: return BitConverter.Int64BitsToDouble((long)ReadArgument(27));
                case 31: return Break;
                default:
                    if (info < 20) return new CborSimple((byte)info);
                    throw new CborException($"reserved additional information {info} in major type 7");
            }
        }

        byte[] ReadIndefiniteBytes()
        {
            int major = _data[_pos - 1] >> 5;
            var chunks = new List<byte>();
            while (true)
            {
                byte initial = Next();
                if (initial == 0xff) return chunks.ToArray();
                if (initial >> 5 != major || (initial & 0x1f) == 31)
                    throw new CborException("an indefinite-length string may only hold definite chunks of its own type");
                chunks.AddRange(Take(Length(ReadArgument(initial & 0x1f))));
            }
        }

        ulong ReadArgument(int info)
        {
            if (info < 24) return (ulong)info;
            int size = info == 24 ? 1 : info == 25 ? 2 : info == 26 ? 4 : info == 27 ? 8 : 0;
            if (size == 0) throw new CborException($"reserved additional information {info}");
            ulong value = 0;
            for (int i = 0; i < size; i++) value = (value << 8) | Next();
            return value;
        }

        int Length(ulong n)
        {
            if (n > (ulong)(_data.Length - _pos) && n > 0)
                throw new CborException($"length {n} runs past the end of the data ({_data.Length - _pos} bytes left)");
            return (int)n;
        }

        byte Next()
        {
            if (_pos >= _data.Length) throw new CborException("unexpected end of data");
            return _data[_pos++];
        }

        byte[] Take(int n)
        {
            if (_pos + n > _data.Length) throw new CborException("unexpected end of data");
            var b = new byte[n];
            Buffer.BlockCopy(_data, _pos, b, 0, n);
            _pos += n;
            return b;
        }

        static BigInteger UnsignedBigEndian(byte[] b)
        {
            var little = new byte[b.Length + 1]; // a trailing zero keeps it positive
            for (int i = 0; i < b.Length; i++) little[i] = b[b.Length - 1 - i];
            return new BigInteger(little);
        }

        /// <summary>IEEE 754 half precision, as RFC 8949 Appendix D decodes it.</summary>
        public static double HalfToDouble(ushort half)
        {
            int exp = (half >> 10) & 0x1f, mant = half & 0x3ff;
            double val = exp == 0 ? mant * Math.Pow(2, -24)
                : exp != 31 ? (mant + 1024) * Math.Pow(2, exp - 25)
                : mant == 0 ? double.PositiveInfinity : double.NaN;
            return (half & 0x8000) != 0 ? -val : val;
        }
    }

    public sealed class CborException : FormatException
    {
        public CborException(string message) : base("CBOR: " + message) { }
    }

    /// <summary>A tagged data item other than the bignums (which decode to BigInteger).</summary>
    public sealed class CborTag
    {
        public readonly ulong Tag;
        public readonly object Content;
        public CborTag(ulong tag, object content) { Tag = tag; Content = content; }
        public override string ToString() => $"{Tag}({Content})";
    }

    /// <summary>A simple value other than false, true and null.</summary>
    public sealed class CborSimple : IEquatable<CborSimple>
    {
        public static readonly CborSimple Undefined = new CborSimple(23);
        public readonly byte Value;
        public CborSimple(byte value) { Value = value; }
        public bool Equals(CborSimple other) => other != null && other.Value == Value;
        public override bool Equals(object obj) => Equals(obj as CborSimple);
        public override int GetHashCode() => Value;
        public override string ToString() => Value == 23 ? "undefined" : $"simple({Value})";
    }

    /// <summary>A CBOR map in wire order, with lookups by key (text, integer, or any value).</summary>
    public sealed class CborMap
    {
        public readonly List<KeyValuePair<object, object>> Entries = new List<KeyValuePair<object, object>>();
        readonly Dictionary<object, object> _index = new Dictionary<object, object>(new KeyComparer());

        public int Count => Entries.Count;

        public void Add(object key, object value)
        {
            Entries.Add(new KeyValuePair<object, object>(key, value));
            _index[key ?? NullKey] = value;
        }

        public bool TryGet(object key, out object value) => _index.TryGetValue(key ?? NullKey, out value);

        public object this[object key] =>
            Get(key);

        object Get(object key)
        {
            object v;
            if (TryGet(key, out v)) return v;
            throw new KeyNotFoundException($"no key {key} in the map");
        }

        public bool ContainsKey(object key) => _index.ContainsKey(key ?? NullKey);

        static readonly object NullKey = new object();

        /// <summary>Integers compare by value whatever their .NET type (1L == 1UL); others by Equals.</summary>
        sealed class KeyComparer : IEqualityComparer<object>
        {
            public new bool Equals(object a, object b)
            {
                if (CborValue.IsInteger(a) && CborValue.IsInteger(b)) return CborValue.ToBigInteger(a) == CborValue.ToBigInteger(b);
                return object.Equals(a, b);
            }

            public int GetHashCode(object o) => CborValue.IsInteger(o) ? CborValue.ToBigInteger(o).GetHashCode() : o.GetHashCode();
        }
    }

    /// <summary>Helpers to read decoded values.</summary>
    public static class CborValue
    {
        public static bool IsInteger(object o) => o is long || o is ulong || o is BigInteger || o is int;

        public static BigInteger ToBigInteger(object o)
        {
            if (o is long) return (long)o;
            if (o is ulong) return (ulong)o;
            if (o is int) return (int)o;
            if (o is BigInteger) return (BigInteger)o;
            throw new InvalidCastException($"{o?.GetType().Name ?? "null"} is not an integer");
        }

        public static long ToLong(object o) => (long)ToBigInteger(o);

        public static double ToDouble(object o) => o is double ? (double)o : (double)ToBigInteger(o);
    }
}
