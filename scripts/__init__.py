"""Developer scripts: benchmarks, drift checks, the stage dependency analysis."""
