using BenchmarkDotNet.Running;

// Runs the benchmarks chosen with --filter (e.g. --filter '*Parse*'); see docs/BENCHMARKS.md.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
