using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using AvatarDriver.Protocol;
using AvatarDriver.Protocol.Cbor;

namespace AvatarDriver.Tests
{
    /// <summary>The server's golden fixtures (tests/golden/), decoded to the same values the
    /// Python and TypeScript tests expect, and unpacked within the documented tolerances.</summary>
    public static class GoldenTests
    {
        const double WeightTol = 1.0 / 65535, QuatTol = 2.0 / 32767, AngleTolDeg = 0.005;

        /// <summary>AVATAR_DRIVER_GOLDEN, else tests/golden found above the working directory.</summary>
        public static string Dir()
        {
            var env = Environment.GetEnvironmentVariable("AVATAR_DRIVER_GOLDEN");
            if (!string.IsNullOrEmpty(env)) return env;
            for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d != null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, "tests", "golden");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new SkipTest("tests/golden not found (a package installed alone has no fixtures); set AVATAR_DRIVER_GOLDEN");
        }

        static byte[] Cbor(string name) => File.ReadAllBytes(Path.Combine(Dir(), name + ".cbor"));

        [CoreTest]
        public static void EveryFixtureDecodesToItsJson()
        {
            var names = Directory.GetFiles(Dir(), "*.cbor").Select(Path.GetFileNameWithoutExtension).OrderBy(n => n).ToList();
            Check.True(names.Count >= 20 && names.Contains("avatar_frame_packed") && names.Contains("transcript"),
                       "all message types have fixtures");
            foreach (var name in names)
            {
                var decoded = CborReader.Decode(Cbor(name));
                var expected = FromTagged(MiniJson.Parse(File.ReadAllText(Path.Combine(Dir(), name + ".json"))));
                Same(expected, decoded, name);
            }
        }

        [CoreTest]
        public static void PackedAndNamedFramesAgreeWithinTheQuantisation()
        {
            var welcome = Messages.ReadWelcome(Messages.ReadEnvelope(Cbor("welcome")));
            Check.Equal(52, welcome.Channels.Length, "channels");
            Check.Equal("neck,head,left_eye,right_eye", string.Join(",", welcome.Bones), "bones");
            var packedEnvelope = Messages.ReadEnvelope(Cbor("avatar_frame_packed"));
            Check.True(Messages.IsPacked(packedEnvelope), "packed");
            var packed = Messages.ReadAvatarFrame(packedEnvelope, welcome);
            var named = Messages.ReadAvatarFrame(Messages.ReadEnvelope(Cbor("avatar_frame_named")), welcome);
            Check.Equal(named.Sequence, packed.Sequence, "sequence");
            Check.Equal(named.TimestampMs, packed.TimestampMs, "timestamp");
            for (int i = 0; i < welcome.Channels.Length; i++)
                Check.Near(named.Weights[i], packed.Weights[i], WeightTol + 1e-7, welcome.Channels[i]);
            for (int i = 0; i < welcome.Bones.Length; i++)
            {
                Check.Near(named.Bones[i].X, packed.Bones[i].X, QuatTol, welcome.Bones[i] + ".x");
                Check.Near(named.Bones[i].Y, packed.Bones[i].Y, QuatTol, welcome.Bones[i] + ".y");
                Check.Near(named.Bones[i].Z, packed.Bones[i].Z, QuatTol, welcome.Bones[i] + ".z");
                Check.Near(named.Bones[i].W, packed.Bones[i].W, QuatTol, welcome.Bones[i] + ".w");
            }
            Check.Near(named.HeadYawDeg, packed.HeadYawDeg, AngleTolDeg + 1e-4, "yaw");
            Check.Near(12.5, named.HeadYawDeg, 1e-4, "named yaw");
            Check.Equal(named.FacePresent, packed.FacePresent, "face_present");
            Check.Equal(named.CaptureMs, packed.CaptureMs, "capture_ms");
            Check.Equal(null, packed.Variant, "no variant outside A/B");
        }

        [CoreTest]
        public static void AbFramesCarryTheirVariant()
        {
            var welcome = Messages.ReadWelcome(Messages.ReadEnvelope(Cbor("welcome")));
            Check.Equal("B", Messages.ReadAvatarFrame(Messages.ReadEnvelope(Cbor("avatar_frame_packed_variant_b")), welcome).Variant, "packed B");
            Check.Equal("B", Messages.ReadAvatarFrame(Messages.ReadEnvelope(Cbor("avatar_frame_named_variant_b")), welcome).Variant, "named B");
        }

        [CoreTest]
        public static void MisuseGivesSpecificErrors()
        {
            var welcome = Messages.ReadWelcome(Messages.ReadEnvelope(Cbor("welcome")));
            var small = new Welcome { Channels = new string[3], Bones = welcome.Bones };
            var e = Check.Throws<ProtocolException>(() => Messages.ReadAvatarFrame(Messages.ReadEnvelope(Cbor("avatar_frame_packed")), small), "layout mismatch");
            Check.True(e.Message.Contains("52 channels") && e.Message.Contains("has 3"), e.Message);
            Check.Throws<ProtocolException>(() => Messages.ReadEnvelope(new byte[] { 0x01 }), "not a map");
            Check.Throws<ProtocolException>(() => Messages.ReadWelcome(Messages.ReadEnvelope(Cbor("error"))), "not a welcome");
        }

        static object FromTagged(object v)
        {
            var d = v as Dictionary<string, object>;
            if (d != null)
            {
                if (d.Count == 1 && d.ContainsKey("$bytes")) return Convert.FromBase64String((string)d["$bytes"]);
                if (d.Count == 1 && d.ContainsKey("$intmap"))
                    return ((Dictionary<string, object>)d["$intmap"]).ToDictionary(kv => (object)long.Parse(kv.Key), kv => FromTagged(kv.Value));
                return d.ToDictionary(kv => (object)kv.Key, kv => FromTagged(kv.Value));
            }
            var l = v as List<object>;
            return l != null ? l.Select(FromTagged).ToList() : v;
        }

        static void Same(object expected, object actual, string path)
        {
            if (expected == null || actual == null) { Check.Equal(expected, actual, path); return; }
            if (IsNumber(expected) && IsNumber(actual))
            {
                Check.Equal(Convert.ToDouble(expected), CborValue.ToDouble(actual), path);
                return;
            }
            var eb = expected as byte[];
            if (eb != null) { Check.True(actual is byte[] && eb.SequenceEqual((byte[])actual), path + " bytes"); return; }
            var ed = expected as Dictionary<object, object>;
            if (ed != null)
            {
                var m = actual as CborMap;
                Check.True(m != null && m.Count == ed.Count, $"{path}: a map of {ed.Count} entries");
                foreach (var kv in ed)
                {
                    object v;
                    Check.True(m.TryGet(kv.Key, out v), $"{path}.{kv.Key} present");
                    Same(kv.Value, v, $"{path}.{kv.Key}");
                }
                return;
            }
            var el = expected as List<object>;
            if (el != null)
            {
                var al = actual as List<object>;
                Check.True(al != null && al.Count == el.Count, $"{path}: a list of {el.Count}");
                for (int i = 0; i < el.Count; i++) Same(el[i], al[i], $"{path}[{i}]");
                return;
            }
            Check.Equal(expected, actual, path);
        }

        static bool IsNumber(object o) => o is long || o is double || o is ulong || o is int || o is System.Numerics.BigInteger;
    }
}
