using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace AvatarDriver.Protocol.Cbor
{
    /// <summary>
    /// A small CBOR encoder for what clients send: maps (IDictionary, text or integer keys),
    /// lists, text, byte strings, integers, doubles, bools and null. Shortest-form heads.
    /// </summary>
    public static class CborWriter
    {
        public static byte[] Encode(object value)
        {
            using (var s = new MemoryStream())
            {
                Write(s, value);
                return s.ToArray();
            }
        }

        static void Write(Stream s, object v)
        {
            if (v == null) { s.WriteByte(0xf6); return; }
            if (v is bool) { s.WriteByte((bool)v ? (byte)0xf5 : (byte)0xf4); return; }
            if (v is string) { var b = Encoding.UTF8.GetBytes((string)v); Head(s, 3, (ulong)b.Length); s.Write(b, 0, b.Length); return; }
            if (v is byte[]) { var b = (byte[])v; Head(s, 2, (ulong)b.Length); s.Write(b, 0, b.Length); return; }
            if (v is int || v is long) { long l = Convert.ToInt64(v); if (l >= 0) Head(s, 0, (ulong)l); else Head(s, 1, (ulong)(-1 - l)); return; }
            if (v is ulong) { Head(s, 0, (ulong)v); return; }
            if (v is float || v is double)
            {
                var bits = BitConverter.GetBytes(Convert.ToDouble(v));
                if (BitConverter.IsLittleEndian) Array.Reverse(bits);
                s.WriteByte(0xfb);
                s.Write(bits, 0, 8);
                return;
            }
            var dict = v as IDictionary;
            if (dict != null)
            {
                Head(s, 5, (ulong)dict.Count);
                foreach (DictionaryEntry e in dict) { Write(s, e.Key); Write(s, e.Value); }
                return;
            }
            var list = v as IList;
            if (list != null)
            {
                Head(s, 4, (ulong)list.Count);
                foreach (var x in list) Write(s, x);
                return;
            }
            throw new ArgumentException($"cannot encode a {v.GetType().Name} as CBOR");
        }

        static void Head(Stream s, int major, ulong n)
        {
            int m = major << 5;
            if (n < 24) s.WriteByte((byte)(m | (int)n));
            else if (n <= byte.MaxValue) { s.WriteByte((byte)(m | 24)); s.WriteByte((byte)n); }
            else if (n <= ushort.MaxValue) { s.WriteByte((byte)(m | 25)); Big(s, n, 2); }
            else if (n <= uint.MaxValue) { s.WriteByte((byte)(m | 26)); Big(s, n, 4); }
            else { s.WriteByte((byte)(m | 27)); Big(s, n, 8); }
        }

        static void Big(Stream s, ulong n, int bytes)
        {
            for (int i = bytes - 1; i >= 0; i--) s.WriteByte((byte)(n >> (8 * i)));
        }
    }
}
