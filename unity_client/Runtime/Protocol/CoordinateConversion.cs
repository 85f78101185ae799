namespace AvatarDriver.Protocol
{
    /// <summary>How an importer mapped the glTF model into Unity's frame.</summary>
    public enum AxisConversion
    {
        /// <summary>X mirrored (UniGLTF's legacy "ReverseX", and most glTF importers).</summary>
        MirrorX,
        /// <summary>Z mirrored (UniGLTF/UniVRM 0.8x+ default "ReverseZ").</summary>
        MirrorZ,
    }

    /// <summary>
    /// The server speaks glTF's frame: right-handed, +Y up, the model's face toward +Z. Unity
    /// is left-handed. Mirroring one axis maps one frame onto the other; a rotation's axis
    /// mirrors with it and its sense flips with the handedness, so a quaternion (x, y, z, w)
    /// becomes (x, -y, -z, w) when X is mirrored and (-x, -y, z, w) when Z is. Use the same
    /// mirror as the importer of the avatar.
    /// </summary>
    public static class CoordinateConversion
    {
        public static Quat GltfToUnity(Quat q, AxisConversion axis = AxisConversion.MirrorX) =>
            axis == AxisConversion.MirrorX ? new Quat(q.X, -q.Y, -q.Z, q.W) : new Quat(-q.X, -q.Y, q.Z, q.W);
    }
}
