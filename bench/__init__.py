"""Backstock's benchmark suite: `python -m bench` (or `make bench`) seeds a PostgreSQL database
of its own, measures every page, the CSV exports and the release, ordering and load scenarios,
and writes the report (docs/performance.md at size L). See README.md, "Benchmarks"."""
