using System;

namespace AvatarDriver.Tests
{
    /// <summary>Marks a test of the UnityEngine-free core. Run by the Mono runner (make test)
    /// and, inside Unity, by the NUnit wrapper in Tests/Editor.</summary>
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class CoreTestAttribute : Attribute { }

    public sealed class CheckFailed : Exception
    {
        public CheckFailed(string message) : base(message) { }
    }

    public static class Check
    {
        public static void True(bool condition, string what)
        {
            if (!condition) throw new CheckFailed(what);
        }

        public static void Equal(object expected, object actual, string what)
        {
            if (!Equals(expected, actual)) throw new CheckFailed($"{what}: expected {expected}, got {actual}");
        }

        public static void Near(double expected, double actual, double tolerance, string what)
        {
            if (!(Math.Abs(expected - actual) <= tolerance))
                throw new CheckFailed($"{what}: expected {expected} ± {tolerance}, got {actual}");
        }

        public static T Throws<T>(Action action, string what) where T : Exception
        {
            try { action(); }
            catch (T e) { return e; }
            throw new CheckFailed($"{what}: expected {typeof(T).Name}");
        }
    }
}
