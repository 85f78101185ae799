using System;
using System.Collections.Generic;
using AvatarDriver.Protocol.Cbor;

namespace AvatarDriver.Protocol
{
    /// <summary>A rotation quaternion (x, y, z, w) in the server's glTF frame (right-handed, +Y up).</summary>
    [Serializable]
    public struct Quat
    {
        public float X, Y, Z, W;
        public Quat(float x, float y, float z, float w) { X = x; Y = y; Z = z; W = w; }
        public static readonly Quat Identity = new Quat(0, 0, 0, 1);

        public static float Dot(Quat a, Quat b) => a.X * b.X + a.Y * b.Y + a.Z * b.Z + a.W * b.W;

        public Quat Normalized()
        {
            float n = (float)Math.Sqrt(Dot(this, this));
            return n > 1e-8f ? new Quat(X / n, Y / n, Z / n, W / n) : Identity;
        }

        /// <summary>Shortest-path spherical interpolation.</summary>
        public static Quat Slerp(Quat a, Quat b, float t)
        {
            float d = Dot(a, b);
            if (d < 0) { b = new Quat(-b.X, -b.Y, -b.Z, -b.W); d = -d; }
            if (d > 0.9995f)
                return new Quat(a.X + (b.X - a.X) * t, a.Y + (b.Y - a.Y) * t, a.Z + (b.Z - a.Z) * t, a.W + (b.W - a.W) * t).Normalized();
            double theta = Math.Acos(d), s = Math.Sin(theta);
            float wa = (float)(Math.Sin((1 - t) * theta) / s), wb = (float)(Math.Sin(t * theta) / s);
            return new Quat(wa * a.X + wb * b.X, wa * a.Y + wb * b.Y, wa * a.Z + wb * b.Z, wa * a.W + wb * b.W);
        }

        public override string ToString() => $"({X:F4}, {Y:F4}, {Z:F4}, {W:F4})";
    }

    /// <summary>The layout a session's frames follow, from its <c>welcome</c>.</summary>
    public sealed class Welcome
    {
        public string SessionId;
        public string Rig;
        public string Format;
        public double RateHz;
        public string[] Channels;
        public string[] Bones;
        public string[] Visemes;
        public bool Watching;
    }

    /// <summary>One avatar_frame, whichever form it came in, in the welcome's channel and bone order.</summary>
    public sealed class AvatarFrame
    {
        public string SessionId;
        public long TimestampMs;
        public long Sequence;
        public string Variant; // null outside A/B sessions, else "A" or "B"
        public float[] Weights; // welcome.Channels order
        public Quat[] Bones; // welcome.Bones order, glTF frame
        public float HeadYawDeg, HeadPitchDeg, HeadRollDeg;
        public int Viseme; // index into Vocabulary.Visemes
        public float VisemeConf;
        public float[] VisemeWeights = new float[Vocabulary.Visemes.Length];
        public bool FacePresent;
        public long? CaptureMs;

        public AvatarFrame Clone()
        {
            var f = (AvatarFrame)MemberwiseClone();
            f.Weights = (float[])Weights.Clone();
            f.Bones = (Quat[])Bones.Clone();
            f.VisemeWeights = (float[])VisemeWeights.Clone();
            return f;
        }
    }

    /// <summary>Any message: its envelope and payload as decoded CBOR.</summary>
    public sealed class Envelope
    {
        public string Type;
        public string SessionId;
        public long? TimestampMs;
        public long? Sequence;
        public CborMap Payload;
    }

    public sealed class ProtocolException : FormatException
    {
        public ProtocolException(string message) : base(message) { }
    }

    /// <summary>docs/protocol.md, decoded. The one place protocol keys are read.</summary>
    public static class Messages
    {
        public static Envelope ReadEnvelope(byte[] cbor)
        {
            var map = CborReader.Decode(cbor) as CborMap ?? throw new ProtocolException("a message must be a map");
            object t;
            if (map.TryGet((long)Wire.PackedKey.Type, out t))
            {
                if (CborValue.ToLong(t) != Wire.PackedType.AvatarFrame) throw new ProtocolException($"unknown packed type code {t}");
                return new Envelope
                {
                    Type = Wire.MessageType.AvatarFrame, SessionId = map[(long)Wire.PackedKey.SessionId] as string,
                    TimestampMs = CborValue.ToLong(map[(long)Wire.PackedKey.TimestampMs]),
                    Sequence = CborValue.ToLong(map[(long)Wire.PackedKey.Sequence]), Payload = (CborMap)map[(long)Wire.PackedKey.Payload],
                };
            }
            if (!map.TryGet("type", out t) || !(t is string)) throw new ProtocolException("a message needs a text 'type'");
            return new Envelope
            {
                Type = (string)t, SessionId = Opt<string>(map, "session_id"), TimestampMs = OptLong(map, "timestamp_ms"),
                Sequence = OptLong(map, "sequence"), Payload = Opt<CborMap>(map, "payload") ?? new CborMap(),
            };
        }

        public static bool IsPacked(Envelope e) => e.Type == Wire.MessageType.AvatarFrame && e.Payload.ContainsKey((long)Wire.PackedFrameKey.Weights);

        public static Welcome ReadWelcome(Envelope e)
        {
            if (e.Type != Wire.MessageType.Welcome) throw new ProtocolException($"expected welcome, got {e.Type}");
            var p = e.Payload;
            return new Welcome
            {
                SessionId = (string)p["session_id"], Rig = Opt<string>(p, "rig"), Format = Opt<string>(p, "format"),
                RateHz = CborValue.ToDouble(p["rate_hz"]), Channels = Strings(p["channels"]), Bones = Strings(p["bones"]),
                Visemes = p.ContainsKey("visemes") ? Strings(p["visemes"]) : Vocabulary.Visemes,
                Watching = p.ContainsKey("watching") && true.Equals(p["watching"]),
            };
        }

        /// <summary>An avatar_frame in either form, laid out by the session's welcome.</summary>
        public static AvatarFrame ReadAvatarFrame(Envelope e, Welcome layout)
        {
            if (e.Type != Wire.MessageType.AvatarFrame) throw new ProtocolException($"expected avatar_frame, got {e.Type}");
            var f = new AvatarFrame
            {
                SessionId = e.SessionId, TimestampMs = e.TimestampMs ?? 0, Sequence = e.Sequence ?? 0,
                Weights = new float[layout.Channels.Length], Bones = new Quat[layout.Bones.Length],
            };
            for (int i = 0; i < f.Bones.Length; i++) f.Bones[i] = Quat.Identity;
            if (IsPacked(e)) ReadPacked(e.Payload, layout, f);
            else ReadNamed(e.Payload, layout, f);
            return f;
        }

        static void ReadPacked(CborMap p, Welcome layout, AvatarFrame f)
        {
            var weights = (byte[])p[(long)Wire.PackedFrameKey.Weights];
            if (weights.Length != 2 * layout.Channels.Length)
                throw new ProtocolException($"packed weights hold {weights.Length / 2} channels, the welcome has {layout.Channels.Length}");
            for (int i = 0; i < f.Weights.Length; i++) f.Weights[i] = U16(weights, 2 * i) / 65535f;
            var rot = (byte[])p[(long)Wire.PackedFrameKey.Rotations];
            if (rot.Length != 6 * layout.Bones.Length)
                throw new ProtocolException($"packed rotations hold {rot.Length / 6} bones, the welcome has {layout.Bones.Length}");
            for (int i = 0; i < f.Bones.Length; i++)
            {
                float x = I16(rot, 6 * i) / 32767f, y = I16(rot, 6 * i + 2) / 32767f, z = I16(rot, 6 * i + 4) / 32767f;
                f.Bones[i] = new Quat(x, y, z, (float)Math.Sqrt(Math.Max(0.0, 1.0 - x * x - y * y - z * z)));
            }
            var head = (byte[])p[(long)Wire.PackedFrameKey.Head];
            f.HeadYawDeg = I16(head, 0) / 100f;
            f.HeadPitchDeg = I16(head, 2) / 100f;
            f.HeadRollDeg = I16(head, 4) / 100f;
            f.Viseme = (int)CborValue.ToLong(p[(long)Wire.PackedFrameKey.Viseme]);
            f.VisemeConf = CborValue.ToLong(p[(long)Wire.PackedFrameKey.VisemeConf]) / 255f;
            f.FacePresent = true.Equals(p[(long)Wire.PackedFrameKey.FacePresent]);
            object v;
            if (p.TryGet((long)Wire.PackedFrameKey.CaptureMs, out v) && v != null) f.CaptureMs = CborValue.ToLong(v);
            if (p.TryGet((long)Wire.PackedFrameKey.Visemes, out v))
            {
                var w = (byte[])v;
                for (int i = 0; i < Math.Min(w.Length, f.VisemeWeights.Length); i++) f.VisemeWeights[i] = w[i] / 255f;
            }
            if (p.TryGet((long)Wire.PackedFrameKey.Variant, out v)) f.Variant = CborValue.ToLong(v) == 0 ? Wire.Variant.A : Wire.Variant.B;
        }

        static void ReadNamed(CborMap p, Welcome layout, AvatarFrame f)
        {
            var shapes = (CborMap)p["blendshapes"];
            for (int i = 0; i < layout.Channels.Length; i++)
            {
                object w;
                if (shapes.TryGet(layout.Channels[i], out w)) f.Weights[i] = (float)CborValue.ToDouble(w);
            }
            var bones = (CborMap)p["bone_transforms"];
            for (int i = 0; i < layout.Bones.Length; i++)
            {
                object q;
                if (bones.TryGet(layout.Bones[i], out q))
                {
                    var l = (List<object>)q;
                    f.Bones[i] = new Quat((float)CborValue.ToDouble(l[0]), (float)CborValue.ToDouble(l[1]),
                                          (float)CborValue.ToDouble(l[2]), (float)CborValue.ToDouble(l[3]));
                }
            }
            f.HeadYawDeg = OptFloat(bones, "head_yaw_deg");
            f.HeadPitchDeg = OptFloat(bones, "head_pitch_deg");
            f.HeadRollDeg = OptFloat(bones, "head_roll_deg");
            f.Viseme = Math.Max(0, Array.IndexOf(Vocabulary.Visemes, Opt<string>(p, "viseme") ?? "sil"));
            f.VisemeConf = OptFloat(p, "viseme_conf");
            var visemes = Opt<CborMap>(p, "visemes");
            if (visemes != null)
                foreach (var kv in visemes.Entries)
                {
                    int i = Array.IndexOf(Vocabulary.Visemes, kv.Key as string);
                    if (i >= 0) f.VisemeWeights[i] = (float)CborValue.ToDouble(kv.Value);
                }
            f.FacePresent = true.Equals(Opt<object>(p, "face_present"));
            f.CaptureMs = OptLong(p, "capture_ms");
            f.Variant = Opt<string>(p, "variant");
        }

        static int U16(byte[] b, int i) => b[i] | (b[i + 1] << 8);
        static short I16(byte[] b, int i) => (short)(b[i] | (b[i + 1] << 8));

        static string[] Strings(object o)
        {
            var l = (List<object>)o;
            var s = new string[l.Count];
            for (int i = 0; i < s.Length; i++) s[i] = (string)l[i];
            return s;
        }

        static T Opt<T>(CborMap m, string key) where T : class
        {
            object v;
            return m.TryGet(key, out v) ? v as T : null;
        }

        static long? OptLong(CborMap m, string key)
        {
            object v;
            return m.TryGet(key, out v) && v != null ? CborValue.ToLong(v) : (long?)null;
        }

        static float OptFloat(CborMap m, string key)
        {
            object v;
            return m.TryGet(key, out v) && v != null ? (float)CborValue.ToDouble(v) : 0f;
        }
    }
}
