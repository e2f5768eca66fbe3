using System.Runtime.CompilerServices;

// The tests check ARC's internal list sizes and target after every operation.
[assembly: InternalsVisibleTo("Ananas.Resolver.Tests")]
