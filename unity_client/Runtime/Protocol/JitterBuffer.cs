using System;
using System.Collections.Generic;

namespace AvatarDriver.Protocol
{
    /// <summary>
    /// Frames ordered by their timestamp_ms, played back a fixed delay behind the newest and
    /// interpolated between the two frames around the playback time (weights linearly, bones
    /// by slerp), so network jitter does not become avatar jitter. Late frames (older than
    /// what was already played) and duplicates are dropped. Not thread-safe: feed and sample
    /// it on one thread (the main thread, from <see cref="FrameInbox"/>).
    /// </summary>
    public sealed class JitterBuffer
    {
        readonly List<AvatarFrame> _frames = new List<AvatarFrame>();
        readonly int _capacity;
        long _playedMs = long.MinValue;

        /// <param name="delayMs">How far behind the newest frame playback runs (about two frame intervals).</param>
        public JitterBuffer(double delayMs = 50, int capacity = 64)
        {
            if (delayMs < 0) throw new ArgumentOutOfRangeException(nameof(delayMs));
            DelayMs = delayMs;
            _capacity = capacity;
        }

        public double DelayMs { get; }
        public int Count => _frames.Count;
        public int Dropped { get; private set; }

        public void Add(AvatarFrame frame)
        {
            if (frame.TimestampMs <= _playedMs) { Dropped++; return; }
            int i = _frames.Count;
            while (i > 0 && _frames[i - 1].TimestampMs > frame.TimestampMs) i--;
            if (i > 0 && _frames[i - 1].TimestampMs == frame.TimestampMs) { Dropped++; return; }
            _frames.Insert(i, frame);
            if (_frames.Count > _capacity) _frames.RemoveAt(0);
        }

        /// <summary>The newest frame's timestamp minus the delay: the moment to show now.</summary>
        public double PlaybackMs => _frames.Count == 0 ? double.NaN : _frames[_frames.Count - 1].TimestampMs - DelayMs;

        /// <summary>The interpolated frame at playback time <paramref name="tMs"/>, or null when empty.</summary>
        public AvatarFrame Sample(double tMs)
        {
            if (_frames.Count == 0) return null;
            if (tMs <= _frames[0].TimestampMs) return _frames[0];
            var last = _frames[_frames.Count - 1];
            if (tMs >= last.TimestampMs) { Forget(last.TimestampMs); return last; }
            int j = 1;
            while (_frames[j].TimestampMs < tMs) j++;
            AvatarFrame a = _frames[j - 1], b = _frames[j];
            float t = (float)((tMs - a.TimestampMs) / (b.TimestampMs - a.TimestampMs));
            Forget(a.TimestampMs);
            return Lerp(a, b, t);
        }

        /// <summary>Frames before the one in use can never be needed again.</summary>
        void Forget(long usedMs)
        {
            _playedMs = Math.Max(_playedMs, usedMs - 1);
            while (_frames.Count > 1 && _frames[0].TimestampMs < usedMs) _frames.RemoveAt(0);
        }

        public static AvatarFrame Lerp(AvatarFrame a, AvatarFrame b, float t)
        {
            var f = (t < 0.5f ? a : b).Clone(); // discrete fields from the nearer frame
            int n = Math.Min(a.Weights.Length, b.Weights.Length);
            for (int i = 0; i < n; i++) f.Weights[i] = a.Weights[i] + (b.Weights[i] - a.Weights[i]) * t;
            for (int i = 0; i < Math.Min(a.Bones.Length, b.Bones.Length); i++) f.Bones[i] = Quat.Slerp(a.Bones[i], b.Bones[i], t);
            for (int i = 0; i < f.VisemeWeights.Length; i++)
                f.VisemeWeights[i] = a.VisemeWeights[i] + (b.VisemeWeights[i] - a.VisemeWeights[i]) * t;
            f.HeadYawDeg = a.HeadYawDeg + (b.HeadYawDeg - a.HeadYawDeg) * t;
            f.HeadPitchDeg = a.HeadPitchDeg + (b.HeadPitchDeg - a.HeadPitchDeg) * t;
            f.HeadRollDeg = a.HeadRollDeg + (b.HeadRollDeg - a.HeadRollDeg) * t;
            f.TimestampMs = (long)Math.Round(a.TimestampMs + (b.TimestampMs - a.TimestampMs) * (double)t);
            return f;
        }
    }
}
