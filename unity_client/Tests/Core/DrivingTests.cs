using System;
using AvatarDriver.Protocol;

namespace AvatarDriver.Tests
{
    public static class DrivingTests
    {
        static AvatarFrame Frame(long t, float w, float yawRad = 0)
        {
            var f = new AvatarFrame { TimestampMs = t, Weights = new[] { w, 1 - w }, Bones = new[] { new Quat(0, (float)Math.Sin(yawRad / 2), 0, (float)Math.Cos(yawRad / 2)) } };
            return f;
        }

        [CoreTest]
        public static void JitterBufferOrdersAndInterpolates()
        {
            var b = new JitterBuffer(delayMs: 40);
            b.Add(Frame(1000, 0.0f));
            b.Add(Frame(1040, 0.8f, 0.4f)); // arrives before the frame in between
            b.Add(Frame(1020, 0.2f, 0.2f));
            b.Add(Frame(1020, 0.9f)); // duplicate timestamp: dropped
            Check.Equal(3, b.Count, "three frames");
            Check.Equal(1, b.Dropped, "one duplicate");
            Check.Near(1000, b.PlaybackMs, 1e-9, "playback 40 ms behind the newest");
            var mid = b.Sample(1030);
            Check.Near(0.5, mid.Weights[0], 1e-6, "weights interpolate");
            Check.Near(Math.Sin(0.15), mid.Bones[0].Y, 1e-4, "bones slerp");
            Check.Equal(1030L, mid.TimestampMs, "interpolated time");
            b.Add(Frame(1010, 0.5f)); // older than what was played: late
            Check.Equal(2, b.Dropped, "a late frame is dropped");
            Check.Near(0.8, b.Sample(2000).Weights[0], 1e-6, "past the newest: hold it");
        }

        [CoreTest]
        public static void SmoothingDependsOnTimeNotFrameRate()
        {
            var target = Frame(0, 1.0f, 1.0f);
            var start = Frame(0, 0.0f);
            foreach (var hz in new[] { 30, 60, 144 })
            {
                var s = new FrameSmoother(0.05f, 0.05f);
                s.Update(start, 0);
                for (int i = 0; i < hz / 10; i++) s.Update(target, 1f / hz); // 100 ms
                Check.Near(1 - Math.Exp(-2), s.Weights[0], 0.01, $"100 ms at {hz} Hz");
            }
            Check.Equal(1f, FrameSmoother.Alpha(0.016f, 0), "time constant 0 passes through");
            Check.Throws<ArgumentOutOfRangeException>(() => new FrameSmoother(-1), "negative time constant");
        }

        [CoreTest]
        public static void InboxHandsOverAndBoundsTheBacklog()
        {
            var inbox = new FrameInbox(capacity: 4);
            for (int i = 0; i < 10; i++) inbox.Post(Frame(i * 10, 0));
            var b = new JitterBuffer();
            Check.Equal(4, inbox.DrainInto(b), "the newest four");
            Check.Equal(6, inbox.Dropped, "six dropped");
            Check.Equal(0, inbox.DrainInto(b), "empty afterwards");
        }

        [CoreTest]
        public static void GltfToUnityRotations()
        {
            // glTF is right-handed, Unity left-handed: mirror X, so (x, y, z, w) -> (x, -y, -z, w).
            var q = new Quat(0.1f, 0.2f, 0.3f, 0.927f);
            Check.Equal(new Quat(0.1f, -0.2f, -0.3f, 0.927f), CoordinateConversion.GltfToUnity(q), "mirror X");
            Check.Equal(new Quat(-0.1f, -0.2f, 0.3f, 0.927f), CoordinateConversion.GltfToUnity(q, AxisConversion.MirrorZ), "mirror Z");
        }
    }
}
