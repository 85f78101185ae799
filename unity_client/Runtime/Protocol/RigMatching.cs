using System.Collections.Generic;
using System.Text.RegularExpressions;

namespace AvatarDriver.Protocol
{
    /// <summary>
    /// Which protocol channel an avatar's blendshape stands for, and which bone a transform
    /// is: the same rules and tables (generated <see cref="NameTables"/>) as the server's rig
    /// inspector, so a RigProfile filled in Unity agrees with `avatar-driver rig inspect`.
    /// </summary>
    public static class RigMatching
    {
        static readonly Dictionary<string, string> ArkitByKey = new Dictionary<string, string>();
        static readonly Regex Viseme = new Regex(@"^(?:vrc\.)?(?:viseme|v)[_\-\s]?([a-z]+)$", RegexOptions.IgnoreCase);
        static readonly Regex SideSuffix = new Regex(@"[_\-\s]([lr])$", RegexOptions.IgnoreCase);
        static readonly Regex NonAlnum = new Regex("[^a-z0-9]");

        static RigMatching()
        {
            foreach (var n in Vocabulary.ArkitBlendshapes) ArkitByKey[n.ToLowerInvariant()] = n;
        }

        static string Key(string name)
        {
            var n = name.Contains(".") && !name.ToLowerInvariant().StartsWith("vrc.") ? name.Substring(name.LastIndexOf('.') + 1) : name;
            n = SideSuffix.Replace(n, m => m.Groups[1].Value.ToLowerInvariant() == "l" ? "left" : "right");
            return NonAlnum.Replace(n.ToLowerInvariant(), "");
        }

        public static string MatchArkit(string name)
        {
            if (System.Array.IndexOf(Vocabulary.ArkitBlendshapes, name) >= 0) return name;
            var key = Key(name);
            string found;
            if (ArkitByKey.TryGetValue(key, out found)) return found;
            foreach (var prefix in NameTables.ArkitPrefixes)
                if (key.StartsWith(prefix) && ArkitByKey.TryGetValue(key.Substring(prefix.Length), out found)) return found;
            return null;
        }

        /// <summary>The Oculus viseme of `viseme_aa`, `Viseme_AA`, `vrc.v_aa` and the like.</summary>
        public static string MatchViseme(string name)
        {
            var m = Viseme.Match(name.Trim());
            string v;
            return m.Success && NameTables.VisemeAliases.TryGetValue(m.Groups[1].Value.ToLowerInvariant(), out v) ? v : null;
        }

        /// <summary>The channel a blendshape drives: an ARKit name, `viseme_X`, or a VRM /
        /// VRoid expression row ("happy", "aa", "blinkLeft"); else null.</summary>
        public static string ChannelFor(string blendshapeName)
        {
            var arkit = MatchArkit(blendshapeName);
            if (arkit != null) return arkit;
            var viseme = MatchViseme(blendshapeName);
            if (viseme != null) return "viseme_" + viseme;
            string row;
            return NameTables.ExpressionAliases.TryGetValue(blendshapeName.ToLowerInvariant(), out row) ? row : null;
        }

        public static string NormaliseBone(string name)
        {
            var key = NonAlnum.Replace(name.ToLowerInvariant(), "");
            foreach (var prefix in NameTables.BonePrefixes)
                if (key.StartsWith(prefix) && key.Length > prefix.Length)
                {
                    var side = prefix == "jbipl" || prefix == "jadjl" ? "l" : prefix == "jbipr" || prefix == "jadjr" ? "r" : "";
                    return key.Substring(prefix.Length) + side;
                }
            return key;
        }

        /// <summary>Protocol bone -> index into <paramref name="names"/>, first candidate wins.</summary>
        public static Dictionary<string, int> MatchBones(IList<string> names)
        {
            var byKey = new Dictionary<string, int>();
            for (int i = 0; i < names.Count; i++)
            {
                var k = NormaliseBone(names[i]);
                if (!byKey.ContainsKey(k)) byKey[k] = i;
            }
            var found = new Dictionary<string, int>();
            foreach (var bone in NameTables.BoneNames)
                foreach (var candidate in bone.Value)
                {
                    int i;
                    if (byKey.TryGetValue(candidate, out i) && !found.ContainsValue(i)) { found[bone.Key] = i; break; }
                }
            return found;
        }
    }
}
