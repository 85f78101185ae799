using System;
using System.Linq;
using System.Reflection;
using AvatarDriver.Tests;

namespace AvatarDriver.TestRunner
{
    /// <summary>Runs every [CoreTest] (make test, under Mono) and ends with "N passed, N failed".</summary>
    public static class Program
    {
        public static int Main(string[] args)
        {
            var tests = typeof(CoreTestAttribute).Assembly.GetTypes()
                .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Static))
                .Where(m => m.GetCustomAttributes(typeof(CoreTestAttribute), false).Length > 0)
                .Where(m => args.Length == 0 || args.Any(a => (m.DeclaringType.Name + "." + m.Name).Contains(a)))
                .OrderBy(m => m.DeclaringType.Name).ThenBy(m => m.Name).ToList();
            int passed = 0, failed = 0, skipped = 0;
            foreach (var test in tests)
            {
                var name = test.DeclaringType.Name + "." + test.Name;
                try
                {
                    test.Invoke(null, null);
                    passed++;
                    Console.WriteLine("PASS " + name);
                }
                catch (TargetInvocationException e) when (e.InnerException is SkipTest)
                {
                    skipped++;
                    Console.WriteLine($"SKIP {name}: {e.InnerException.Message}");
                }
                catch (TargetInvocationException e)
                {
                    failed++;
                    Console.WriteLine($"FAIL {name}: {e.InnerException}");
                }
            }
            Console.WriteLine($"{passed} passed, {failed} failed" + (skipped > 0 ? $", {skipped} skipped" : ""));
            return failed == 0 ? 0 : 1;
        }
    }
}
