"""Cross-implementation benchmarks for the wg libraries on CPU and GPU."""
