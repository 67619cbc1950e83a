"""Benchmarks: generators x datasets -> figures, through the public API only."""
