"""Benchmarks: every performance claim of the tracker, measured against a baseline in the same run.

``make bench`` runs ``bench/run_all.py``; each ``bench/<n>_<name>.py`` also runs alone. See
docs/performance.md for the figures and the commands that produced them.
"""
