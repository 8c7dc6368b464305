"""Benchmarks: ``rollback`` next to the raw tools it drives, measured in the same run.

Run ``python -m benchmarks [--quick] [--repo PATH] [--only SCENARIO ...]``; the run writes
``docs/benchmarks.md``, ``docs/benchmarks.json`` and ``docs/benchmarks.png``. Not part of the
test suite (``tests/test_benchmarks_smoke.py`` runs a tiny slice so the harness never rots).
"""
