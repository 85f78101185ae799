using UnityEditor;
using UnityEngine;

namespace AvatarDriver.Editor
{
    /// <summary>RigProfile's inspector: a "Fill from avatar" button that binds blendshapes and
    /// bones by name (ARKit, viseme_*, VRM/VRoid, humanoid or common bone names).</summary>
    [CustomEditor(typeof(RigProfile))]
    public sealed class RigProfileEditor : UnityEditor.Editor
    {
        GameObject _avatar;

        public override void OnInspectorGUI()
        {
            var profile = (RigProfile)target;
            EditorGUILayout.HelpBox("Drag the avatar (a scene instance or prefab) here and press Fill: channels are matched " +
                                    "by blendshape name, bones through the humanoid Animator or by name.", MessageType.Info);
            _avatar = (GameObject)EditorGUILayout.ObjectField("Avatar", _avatar, typeof(GameObject), true);
            using (new EditorGUI.DisabledScope(_avatar == null))
            {
                if (GUILayout.Button("Fill from avatar"))
                {
                    Undo.RecordObject(profile, "Fill RigProfile from avatar");
                    profile.FillFrom(_avatar.transform);
                    EditorUtility.SetDirty(profile);
                    Debug.Log($"RigProfile: {profile.blendshapes.Count} blendshapes, {profile.bones.Count} bones bound from {_avatar.name}");
                }
            }
            EditorGUILayout.Space();
            DrawDefaultInspector();
        }
    }
}
