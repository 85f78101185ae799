using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using NUnit.Framework;

namespace AvatarDriver.Tests
{
    /// <summary>The core tests (Tests/Core) in Unity's Test Runner, EditMode: the same
    /// methods `make test` runs under Mono.</summary>
    public sealed class CoreTestsInUnity
    {
        static IEnumerable<TestCaseData> Cases() =>
            typeof(CoreTestAttribute).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
                .Where(m => m.GetCustomAttributes(typeof(CoreTestAttribute), false).Length > 0)
                .Select(m => new TestCaseData(m).SetName(m.DeclaringType.Name + "." + m.Name));

        [TestCaseSource(nameof(Cases))]
        public void Run(MethodInfo test)
        {
            try { test.Invoke(null, null); }
            catch (TargetInvocationException e) when (e.InnerException is SkipTest) { Assert.Ignore(e.InnerException.Message); }
            catch (TargetInvocationException e) when (e.InnerException is CheckFailed) { Assert.Fail(e.InnerException.Message); }
        }
    }
}
