// Minimal stand-ins for the UnityEngine API the package uses, so `make test` can compile the
// Unity-facing code with Mono and catch typos. Only for that check: never shipped, never run.
using System;
using System.Collections.Generic;

namespace UnityEngine
{
    public class Object { public string name; }
    public class Component : Object
    {
        public Transform transform => null;
        public GameObject gameObject => null;
        public T GetComponent<T>() where T : class => null;
    }
    public class Behaviour : Component { public bool enabled; }
    public class MonoBehaviour : Behaviour { }
    public class ScriptableObject : Object { }
    public class GameObject : Object
    {
        public Transform transform => null;
        public T AddComponent<T>() where T : Component, new() => new T();
    }
    public class Transform : Component, IEnumerable<Transform>
    {
        public Transform parent;
        public Quaternion localRotation;
        public Transform Find(string path) => null;
        public T[] GetComponentsInChildren<T>(bool includeInactive) => new T[0];
        public T GetComponentInChildren<T>() where T : class => null;
        public IEnumerator<Transform> GetEnumerator() { yield break; }
        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
    public class Mesh : Object
    {
        public int blendShapeCount;
        public string GetBlendShapeName(int index) => "";
    }
    public class SkinnedMeshRenderer : Component
    {
        public Mesh sharedMesh;
        public void SetBlendShapeWeight(int index, float value) { }
    }
    public enum HumanBodyBones { Hips, Spine, Chest, Neck, Head, LeftEye, RightEye }
    public class Animator : Behaviour
    {
        public bool isHuman;
        public Transform GetBoneTransform(HumanBodyBones bone) => null;
    }
    public struct Quaternion
    {
        public float x, y, z, w;
        public Quaternion(float x, float y, float z, float w) { this.x = x; this.y = y; this.z = z; this.w = w; }
        public static Quaternion operator *(Quaternion a, Quaternion b) => a;
    }
    public static class Mathf { public static float Clamp(float v, float lo, float hi) => v < lo ? lo : v > hi ? hi : v; }
    public static class Time { public static float unscaledDeltaTime; }
    public static class Debug
    {
        public static void Log(object message) { }
        public static void LogWarning(object message, Object context = null) { }
        public static void LogError(object message, Object context = null) { }
    }
    public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }
    public sealed class HeaderAttribute : Attribute { public HeaderAttribute(string header) { } }
    public sealed class RangeAttribute : Attribute { public RangeAttribute(float min, float max) { } }
    public sealed class CreateAssetMenuAttribute : Attribute { public string menuName, fileName; }
    public static class GUILayout { public static bool Button(string text) => false; }
}

namespace UnityEditor
{
    using UnityEngine;

    public class Editor : ScriptableObject
    {
        public Object target;
        public bool DrawDefaultInspector() => true;
        public virtual void OnInspectorGUI() { }
    }
    public sealed class CustomEditor : Attribute { public CustomEditor(Type type) { } }
    public enum MessageType { None, Info, Warning, Error }
    public static class EditorGUILayout
    {
        public static void HelpBox(string message, MessageType type) { }
        public static Object ObjectField(string label, Object obj, Type type, bool allowSceneObjects) => obj;
        public static void Space() { }
    }
    public static class EditorGUI
    {
        public sealed class DisabledScope : IDisposable
        {
            public DisabledScope(bool disabled) { }
            public void Dispose() { }
        }
    }
    public static class EditorUtility { public static void SetDirty(Object o) { } }
    public static class Undo { public static void RecordObject(Object o, string name) { } }
}
