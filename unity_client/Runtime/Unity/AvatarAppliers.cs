using System.Collections.Generic;
using AvatarDriver.Protocol;
using UnityEngine;

namespace AvatarDriver
{
    /// <summary>A RigProfile resolved against one avatar instance and one session's layout.</summary>
    public sealed class ResolvedRig
    {
        struct Shape { public SkinnedMeshRenderer Renderer; public int Index; public float Scale; public int Channel; public int Viseme; }
        struct Bone { public Transform Transform; public Quaternion Rest; public int Index; }

        readonly List<Shape> _shapes = new List<Shape>();
        readonly List<Bone> _bones = new List<Bone>();
        readonly AxisConversion _axis;

        public int BoundBlendshapes => _shapes.Count;
        public int BoundBones => _bones.Count;
        public List<string> Missing { get; } = new List<string>();

        public ResolvedRig(RigProfile profile, Transform root, Welcome layout)
        {
            _axis = profile.axisConversion;
            var channelIndex = new Dictionary<string, int>();
            for (int i = 0; i < layout.Channels.Length; i++) channelIndex[layout.Channels[i]] = i;
            foreach (var b in profile.blendshapes)
            {
                var t = string.IsNullOrEmpty(b.rendererPath) ? root : root.Find(b.rendererPath);
                var r = t != null ? t.GetComponent<SkinnedMeshRenderer>() : null;
                if (r == null) { Missing.Add(b.rendererPath); continue; }
                int channel;
                int viseme = b.channel != null && b.channel.StartsWith("viseme_")
                    ? System.Array.IndexOf(Vocabulary.Visemes, b.channel.Substring(7)) : -1;
                if (!channelIndex.TryGetValue(b.channel, out channel)) channel = -1;
                if (channel < 0 && viseme < 0) continue; // the session's rig does not send this channel
                _shapes.Add(new Shape { Renderer = r, Index = b.blendshapeIndex, Scale = b.scale, Channel = channel, Viseme = viseme });
            }
            var boneIndex = new Dictionary<string, int>();
            for (int i = 0; i < layout.Bones.Length; i++) boneIndex[layout.Bones[i]] = i;
            foreach (var b in profile.bones)
            {
                var t = root.Find(b.transformPath);
                int i;
                if (t == null) { Missing.Add(b.transformPath); continue; }
                if (boneIndex.TryGetValue(b.bone, out i)) _bones.Add(new Bone { Transform = t, Rest = t.localRotation, Index = i });
            }
        }

        /// <summary>Blendshapes get weight x 100 x scale; visemes the session's rig does not send as
        /// channels come from the frame's viseme weights.</summary>
        public void ApplyBlendshapes(float[] weights, float[] visemeWeights)
        {
            foreach (var s in _shapes)
            {
                float w = s.Channel >= 0 ? weights[s.Channel] : visemeWeights[s.Viseme];
                s.Renderer.SetBlendShapeWeight(s.Index, Mathf.Clamp(w, 0f, 1f) * 100f * s.Scale);
            }
        }

        /// <summary>Each bone turns from its rest pose by the frame's rotation, converted to Unity's frame.</summary>
        public void ApplyBones(Quat[] rotations)
        {
            foreach (var b in _bones)
            {
                var q = CoordinateConversion.GltfToUnity(rotations[b.Index], _axis);
                b.Transform.localRotation = b.Rest * new Quaternion(q.X, q.Y, q.Z, q.W);
            }
        }

        public void Rest()
        {
            foreach (var s in _shapes) s.Renderer.SetBlendShapeWeight(s.Index, 0f);
            foreach (var b in _bones) b.Transform.localRotation = b.Rest;
        }
    }
}
