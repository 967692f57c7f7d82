"""Side-by-side benchmarks (run: ``python -m benchmarks.run_all``)."""
