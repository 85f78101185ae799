using System;
using System.Collections.Generic;
using System.Numerics;
using AvatarDriver.Protocol.Cbor;

namespace AvatarDriver.Tests
{
    /// <summary>RFC 8949 Appendix A: every example of the kinds the protocol can carry.</summary>
    public static class CborTests
    {
        static object D(string hex)
        {
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return CborReader.Decode(b);
        }

        [CoreTest]
        public static void Integers()
        {
            var cases = new object[]
            {
                "00", 0L, "01", 1L, "0a", 10L, "17", 23L, "1818", 24L, "1819", 25L, "1864", 100L,
                "1903e8", 1000L, "1a000f4240", 1000000L, "1b000000e8d4a51000", 1000000000000L,
                "1bffffffffffffffff", 18446744073709551615UL, "20", -1L, "29", -10L, "3863", -100L,
                "3903e7", -1000L,
            };
            for (int i = 0; i < cases.Length; i += 2) Check.Equal(cases[i + 1], D((string)cases[i]), (string)cases[i]);
            Check.Equal(BigInteger.Parse("18446744073709551616"), D("c249010000000000000000"), "bignum");
            Check.Equal(BigInteger.Parse("-18446744073709551616"), D("3bffffffffffffffff"), "-2^64");
            Check.Equal(BigInteger.Parse("-18446744073709551617"), D("c349010000000000000000"), "negative bignum");
        }

        [CoreTest]
        public static void Floats()
        {
            var cases = new object[]
            {
                "f90000", 0.0, "f98000", -0.0, "f93c00", 1.0, "fb3ff199999999999a", 1.1, "f93e00", 1.5,
                "f97bff", 65504.0, "fa47c35000", 100000.0, "fa7f7fffff", 3.4028234663852886e+38,
                "fb7e37e43c8800759c", 1.0e+300, "f90001", 5.960464477539063e-8, "f90400", 0.00006103515625,
                "f9c400", -4.0, "fbc010666666666666", -4.1, "f97c00", double.PositiveInfinity,
                "f9fc00", double.NegativeInfinity, "fa7f800000", double.PositiveInfinity,
                "faff800000", double.NegativeInfinity, "fb7ff0000000000000", double.PositiveInfinity,
                "fbfff0000000000000", double.NegativeInfinity,
            };
            for (int i = 0; i < cases.Length; i += 2) Check.Equal(cases[i + 1], D((string)cases[i]), (string)cases[i]);
            Check.True(BitConverter.DoubleToInt64Bits((double)D("f98000")) < 0, "-0.0 keeps its sign");
            foreach (var hex in new[] { "f97e00", "fa7fc00000", "fb7ff8000000000000" })
                Check.True(double.IsNaN((double)D(hex)), hex + " is NaN");
        }

        [CoreTest]
        public static void SimpleValues()
        {
            Check.Equal(false, D("f4"), "false");
            Check.Equal(true, D("f5"), "true");
            Check.Equal(null, D("f6"), "null");
            Check.Equal(CborSimple.Undefined, D("f7"), "undefined");
            Check.Equal(new CborSimple(16), D("f0"), "simple(16)");
            Check.Equal(new CborSimple(255), D("f8ff"), "simple(255)");
        }

        [CoreTest]
        public static void Tags()
        {
            var t = (CborTag)D("c074323031332d30332d32315432303a30343a30305a");
            Check.Equal(0UL, t.Tag, "tag 0");
            Check.Equal("2013-03-21T20:04:00Z", t.Content, "date text");
            Check.Equal(1363896240L, ((CborTag)D("c11a514b67b0")).Content, "epoch");
            Check.Equal(1363896240.5, ((CborTag)D("c1fb41d452d9ec200000")).Content, "epoch float");
            Check.Equal(23UL, ((CborTag)D("d74401020304")).Tag, "tag 23");
            Check.Equal(4, ((byte[])((CborTag)D("d74401020304")).Content).Length, "tagged bytes");
            var nested = (CborTag)D("d818456449455446");
            Check.Equal(24UL, nested.Tag, "tag 24");
            Check.Equal("http://www.example.com", ((CborTag)D("d82076687474703a2f2f7777772e6578616d706c652e636f6d")).Content, "uri");
        }

        [CoreTest]
        public static void Strings()
        {
            Check.Equal(0, ((byte[])D("40")).Length, "h''");
            Check.Equal("01020304", Hex((byte[])D("4401020304")), "h'01020304'");
            Check.Equal("", D("60"), "empty text");
            Check.Equal("a", D("6161"), "a");
            Check.Equal("IETF", D("6449455446"), "IETF");
            Check.Equal("\"\\", D("62225c"), "escapes");
            Check.Equal("\u00fc", D("62c3bc"), "u-umlaut");
            Check.Equal("\u6c34", D("63e6b0b4"), "water");
            Check.Equal("\ud800\udd51", D("64f0908591"), "surrogate pair");
            Check.Equal("0102030405", Hex((byte[])D("5f42010243030405ff")), "indefinite bytes");
            Check.Equal("streaming", D("7f657374726561646d696e67ff"), "indefinite text");
        }

        [CoreTest]
        public static void ArraysAndMaps()
        {
            Check.Equal(0, ((List<object>)D("80")).Count, "[]");
            Check.Equal("[1, 2, 3]", Show(D("83010203")), "[1,2,3]");
            Check.Equal("[1, [2, 3], [4, 5]]", Show(D("8301820203820405")), "nested");
            var long25 = (List<object>)D("98190102030405060708090a0b0c0d0e0f101112131415161718181819");
            Check.Equal(25, long25.Count, "25 items");
            Check.Equal(25L, long25[24], "last item");
            Check.Equal(0, ((CborMap)D("a0")).Count, "{}");
            var m = (CborMap)D("a201020304");
            Check.Equal(2L, m[1L], "{1: 2}");
            Check.Equal(4L, m[3], "int keys compare by value");
            var m2 = (CborMap)D("a26161016162820203");
            Check.Equal("[2, 3]", Show(m2["b"]), "{'a':1,'b':[2,3]}");
            Check.Equal("[a, {b=c}]", Show(D("826161a161626163")), "['a', {'b':'c'}]");
            Check.Equal("E", ((CborMap)D("a56161614161626142616361436164614461656145"))["e"], "5 pairs");
            foreach (var hex in new[] { "9fff", "9f018202039f0405ffff", "9f01820203820405ff", "83018202039f0405ff",
                                         "83019f0203ff820405", "9f0102030405060708090a0b0c0d0e0f101112131415161718181819ff" })
                Check.True(D(hex) is List<object>, hex);
            Check.Equal("[1, [2, 3], [4, 5]]", Show(D("9f018202039f0405ffff")), "indefinite nested");
            var im = (CborMap)D("bf61610161629f0203ffff");
            Check.Equal("[2, 3]", Show(im["b"]), "indefinite map");
            Check.Equal("[a, {b=c}]", Show(D("826161bf61626163ff")), "indefinite inner map");
            Check.Equal("Amt", ((CborMap)D("bf6346756ef563416d7421ff"))["Amt"] is long ? "Amt" : "?", "Fun/Amt");
        }

        [CoreTest]
        public static void MalformedInputIsRejected()
        {
            foreach (var hex in new[] { "", "18", "1c", "5f01ff", "62c3", "a1", "ff", "8201", "0000", "f818" })
                Check.Throws<CborException>(() => D(hex), "malformed " + hex);
        }

        static string Hex(byte[] b) => BitConverter.ToString(b).Replace("-", "").ToLowerInvariant();

        internal static string Show(object o)
        {
            var list = o as List<object>;
            if (list != null) return "[" + string.Join(", ", list.ConvertAll(Show)) + "]";
            var map = o as CborMap;
            if (map != null)
            {
                var parts = new List<string>();
                foreach (var kv in map.Entries) parts.Add(Show(kv.Key) + "=" + Show(kv.Value));
                return "{" + string.Join(", ", parts) + "}";
            }
            return Convert.ToString(o, System.Globalization.CultureInfo.InvariantCulture);
        }
    }
}
