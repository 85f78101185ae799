using System;

namespace AvatarDriver.Protocol
{
    /// <summary>
    /// dt-based exponential smoothing of weights and bone rotations: each update moves a
    /// fraction 1 - exp(-dt / timeConstant) toward the target, so the result is the same at
    /// 30 or 144 frames per second. Time constant 0 passes targets through.
    /// </summary>
    public sealed class FrameSmoother
    {
        float[] _weights;
        Quat[] _bones;

        public FrameSmoother(float weightTimeConstantS = 0.03f, float boneTimeConstantS = 0.05f)
        {
            if (weightTimeConstantS < 0 || boneTimeConstantS < 0) throw new ArgumentOutOfRangeException("time constants must be >= 0");
            WeightTimeConstantS = weightTimeConstantS;
            BoneTimeConstantS = boneTimeConstantS;
        }

        public float WeightTimeConstantS { get; }
        public float BoneTimeConstantS { get; }
        public float[] Weights => _weights;
        public Quat[] Bones => _bones;

        public static float Alpha(float dtS, float timeConstantS) =>
            timeConstantS <= 0 ? 1f : 1f - (float)Math.Exp(-Math.Max(0f, dtS) / timeConstantS);

        public void Update(AvatarFrame target, float dtS)
        {
            if (_weights == null || _weights.Length != target.Weights.Length || _bones.Length != target.Bones.Length)
            {
                _weights = (float[])target.Weights.Clone();
                _bones = (Quat[])target.Bones.Clone();
                return;
            }
            float aw = Alpha(dtS, WeightTimeConstantS), ab = Alpha(dtS, BoneTimeConstantS);
            for (int i = 0; i < _weights.Length; i++) _weights[i] += (target.Weights[i] - _weights[i]) * aw;
            for (int i = 0; i < _bones.Length; i++) _bones[i] = Quat.Slerp(_bones[i], target.Bones[i], ab);
        }
    }
}
