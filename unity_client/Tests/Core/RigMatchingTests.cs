using AvatarDriver.Protocol;

namespace AvatarDriver.Tests
{
    /// <summary>The same names the server's rig inspector recognises (tests/unit/test_retarget.py).</summary>
    public static class RigMatchingTests
    {
        [CoreTest]
        public static void BlendshapesMapToChannels()
        {
            Check.Equal("mouthSmileLeft", RigMatching.ChannelFor("mouthSmileLeft"), "exact");
            Check.Equal("mouthSmileLeft", RigMatching.ChannelFor("Mouth_Smile_L"), "separators and _L");
            Check.Equal("jawOpen", RigMatching.ChannelFor("blendShape1.jawOpen"), "behind a dotted prefix");
            Check.Equal("eyeBlinkRight", RigMatching.ChannelFor("ARKit_EyeBlink_R"), "behind a prefix");
            Check.Equal("viseme_aa", RigMatching.ChannelFor("viseme_aa"), "viseme");
            Check.Equal("viseme_CH", RigMatching.ChannelFor("vrc.v_ch"), "VRChat viseme");
            Check.Equal("happy", RigMatching.ChannelFor("Fcl_ALL_Joy"), "VRoid expression");
            Check.Equal("aa", RigMatching.ChannelFor("Fcl_MTH_A"), "VRoid mouth");
            Check.Equal(null, RigMatching.ChannelFor("Tongue_Out_Wiggle"), "unknown");
        }

        [CoreTest]
        public static void BonesByName()
        {
            var names = new[] { "Armature", "mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine2", "mixamorig:Neck",
                                "mixamorig:Head", "mixamorig:LeftEye", "J_Adj_R_FaceEye" };
            var found = RigMatching.MatchBones(names);
            Check.Equal(5, found["head"], "head");
            Check.Equal(4, found["neck"], "neck");
            Check.Equal(6, found["left_eye"], "left eye");
            Check.Equal(7, found["right_eye"], "VRoid right eye");
            Check.Equal(2, found["spine"], "spine");
            Check.Equal(3, found["chest"], "chest");
        }
    }
}
