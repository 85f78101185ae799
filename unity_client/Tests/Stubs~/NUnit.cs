// Stand-ins for the NUnit API the Unity test wrapper uses (compile check only).
using System;

namespace NUnit.Framework
{
    public sealed class TestCaseData
    {
        public TestCaseData(params object[] args) { }
        public TestCaseData SetName(string name) => this;
    }
    public sealed class TestCaseSourceAttribute : Attribute { public TestCaseSourceAttribute(string source) { } }
    public static class Assert
    {
        public static void Ignore(string message) { }
        public static void Fail(string message) { }
    }
}
