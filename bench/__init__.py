"""Benchmarks (see README.md). A package so that the hub's worker can import
``bench.settings_processing`` and ``bench.handlers``; the scripts themselves run as files."""
