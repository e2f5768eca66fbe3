using System.Runtime.CompilerServices;

// The tests check ARC's internal list sizes and target after every operation.
[assembly: InternalsVisibleTo("Ananas.Resolver.Tests")]

// The fuzzing harness drives the answer-cache key reader directly (fuzz/Ananas.Fuzz).
[assembly: InternalsVisibleTo("Ananas.Fuzz")]
