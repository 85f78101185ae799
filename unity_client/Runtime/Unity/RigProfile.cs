using System;
using System.Collections.Generic;
using AvatarDriver.Protocol;
using UnityEngine;

namespace AvatarDriver
{
    /// <summary>
    /// Which blendshapes and bones of an avatar the server's channels and bones drive. Paths
    /// are relative to the avatar's root, so one profile serves every instance of a prefab.
    /// Fill it with the inspector's "Fill from avatar" button (ARKit, viseme_*, VRM/VRoid names).
    /// </summary>
    [CreateAssetMenu(menuName = "Avatar Driver/Rig Profile", fileName = "RigProfile")]
    public sealed class RigProfile : ScriptableObject
    {
        [Serializable]
        public sealed class BlendshapeBinding
        {
            [Tooltip("Protocol channel name (welcome.channels), e.g. mouthSmileLeft, viseme_aa, happy.")]
            public string channel;
            [Tooltip("Path of the SkinnedMeshRenderer from the avatar root (Transform.Find syntax).")]
            public string rendererPath;
            [Tooltip("Blendshape index in that renderer's mesh.")]
            public int blendshapeIndex;
            [Tooltip("Blendshape name, for reading the profile and for re-binding after a mesh change.")]
            public string blendshapeName;
            [Tooltip("Multiplier on the 0-100 weight (1 = as sent).")]
            [Range(0f, 2f)] public float scale = 1f;
        }

        [Serializable]
        public sealed class BoneBinding
        {
            [Tooltip("Protocol bone name: neck, head, left_eye, right_eye, spine or chest.")]
            public string bone;
            [Tooltip("Path of the bone's Transform from the avatar root.")]
            public string transformPath;
        }

        [Tooltip("Channel -> blendshape bindings. A channel may drive several blendshapes (e.g. both eyes' meshes).")]
        public List<BlendshapeBinding> blendshapes = new List<BlendshapeBinding>();

        [Tooltip("Bone -> Transform bindings.")]
        public List<BoneBinding> bones = new List<BoneBinding>();

        [Tooltip("How the avatar's importer converted glTF axes to Unity's (UniVRM 0.8x+: MirrorZ).")]
        public AxisConversion axisConversion = AxisConversion.MirrorX;

        /// <summary>Rebuilds the bindings from the avatar's blendshape and bone names.</summary>
        public void FillFrom(Transform root)
        {
            blendshapes.Clear();
            bones.Clear();
            foreach (var renderer in root.GetComponentsInChildren<SkinnedMeshRenderer>(true))
            {
                var mesh = renderer.sharedMesh;
                if (mesh == null) continue;
                var path = PathFrom(root, renderer.transform);
                for (int i = 0; i < mesh.blendShapeCount; i++)
                {
                    var name = mesh.GetBlendShapeName(i);
                    var channel = RigMatching.ChannelFor(name) ?? name; // unknown names bind to themselves
                    blendshapes.Add(new BlendshapeBinding { channel = channel, rendererPath = path, blendshapeIndex = i, blendshapeName = name });
                }
            }
            var animator = root.GetComponentInChildren<Animator>();
            var humanoid = new Dictionary<string, HumanBodyBones>
            {
                { "head", HumanBodyBones.Head }, { "neck", HumanBodyBones.Neck }, { "left_eye", HumanBodyBones.LeftEye },
                { "right_eye", HumanBodyBones.RightEye }, { "spine", HumanBodyBones.Spine }, { "chest", HumanBodyBones.Chest },
            };
            if (animator != null && animator.isHuman)
                foreach (var kv in humanoid)
                {
                    var t = animator.GetBoneTransform(kv.Value);
                    if (t != null) bones.Add(new BoneBinding { bone = kv.Key, transformPath = PathFrom(root, t) });
                }
            if (bones.Count == 0)
            {
                var all = root.GetComponentsInChildren<Transform>(true);
                var names = new List<string>();
                foreach (var t in all) names.Add(t.name);
                foreach (var kv in RigMatching.MatchBones(names))
                    bones.Add(new BoneBinding { bone = kv.Key, transformPath = PathFrom(root, all[kv.Value]) });
            }
        }

        public static string PathFrom(Transform root, Transform t)
        {
            var parts = new List<string>();
            for (var x = t; x != null && x != root; x = x.parent) parts.Insert(0, x.name);
            return string.Join("/", parts);
        }
    }
}
